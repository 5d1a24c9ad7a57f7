import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

import type { ModelInfo } from '../client.ts';
import { ModelPackageError } from './errors.ts';
import { ModelManifestSchema, type EncoderRole, type ModelManifest, type Precision } from './manifest.schema.ts';

/** A validated model package: every file listed in the manifest exists with its size and sha256. */
export interface ModelPackage {
  dir: string;
  manifest: ModelManifest;
  /** What every response says about the model. */
  info: ModelInfo;
  tokenizerPath: string;
  /** Absolute path of the encoder with this role and precision, if the package has one. */
  encoderPath(role: EncoderRole, precision: Precision): string | undefined;
}

export const STAND_IN_NOTICE = 'Stand-in model with random weights, NOT BioCLIP 2: its embeddings carry no biological meaning.';

export function modelInfoOf(manifest: ModelManifest): ModelInfo {
  return {
    name: manifest.name,
    version: manifest.version,
    isStandIn: manifest.isStandIn,
    ...(manifest.isStandIn ? { notice: STAND_IN_NOTICE } : {}),
  };
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

async function readManifest(dir: string): Promise<ModelManifest> {
  const manifestPath = path.join(dir, 'manifest.json');
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch (error) {
    throw new ModelPackageError('MANIFEST_MISSING', dir, `cannot read manifest.json (${(error as Error).message})`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ModelPackageError('MANIFEST_NOT_JSON', dir, `manifest.json is not JSON (${(error as Error).message})`, { cause: error });
  }
  const parsed = ModelManifestSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new ModelPackageError('MANIFEST_INVALID', dir, `manifest.json is invalid: ${problems.join('; ')}`, { cause: parsed.error });
  }
  return parsed.data;
}

async function verifyFile(dir: string, label: string, file: string, expected: { bytes?: number; sha256?: string }): Promise<void> {
  let size: number;
  try {
    const stats = await stat(file);
    if (!stats.isFile()) throw new Error('not a regular file');
    size = stats.size;
  } catch (error) {
    throw new ModelPackageError('FILE_MISSING', dir, `${label} is missing (${(error as Error).message})`, { cause: error });
  }
  if (expected.bytes !== undefined && size !== expected.bytes) {
    throw new ModelPackageError('FILE_SIZE_MISMATCH', dir, `${label} has ${size} bytes, manifest.json says ${expected.bytes}`);
  }
  if (expected.sha256 !== undefined) {
    const actual = await sha256Of(file);
    if (actual !== expected.sha256) {
      throw new ModelPackageError('FILE_HASH_MISMATCH', dir, `${label} has sha256 ${actual}, manifest.json says ${expected.sha256}`);
    }
  }
}

/**
 * Reads and validates `<dir>/manifest.json`, then checks that every listed file and the tokenizer
 * vocabulary exist with the recorded size and sha256 (hashing reads every byte: about a second per
 * GB). Throws ModelPackageError naming the first problem.
 */
export async function loadModelPackage(dir: string): Promise<ModelPackage> {
  const packageDir = path.resolve(dir);
  const manifest = await readManifest(packageDir);
  for (const entry of manifest.files) {
    await verifyFile(packageDir, entry.path, path.join(packageDir, entry.path), entry);
  }
  const tokenizerPath = path.resolve(packageDir, manifest.tokenizer.file);
  await verifyFile(packageDir, `tokenizer file ${manifest.tokenizer.file}`, tokenizerPath, { sha256: manifest.tokenizer.sha256 });

  return {
    dir: packageDir,
    manifest,
    info: modelInfoOf(manifest),
    tokenizerPath,
    encoderPath(role, precision) {
      const entry = manifest.files.find((file) => file.role === role && file.precision === precision);
      return entry && path.join(packageDir, entry.path);
    },
  };
}
