// Runs a model package's ONNX encoders with onnxruntime-node (CPU) on the parity fixture inputs.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';

import type { LoadedFixture } from './parity-fixture.ts';
import { centredCosines, cosine, relativeError } from './parity-metrics.ts';

export interface PackageFileEntry {
  path: string;
  sha256: string;
  bytes: number;
  role: 'image_encoder' | 'text_encoder' | 'external_data';
  precision: 'fp32' | 'fp16' | 'int8';
  dataFor?: string;
  /** Non-standard operators the file uses (fused fp32 encoders: com.microsoft.Attention, onnxruntime only). */
  contribOps?: string[];
}

/** The manifest fields the parity check reads (models/export/arbor_export/manifest.py writes them all). */
export interface PackageManifest {
  name: string;
  version: string;
  description: string;
  isStandIn: boolean;
  embeddingDim: number;
  logitScale: number;
  imageSize: number;
  preprocessing: { mode: string; mean: number[]; std: number[]; interpolation: string };
  tokenizer: { file: string; contextLength: number; vocabSize: number; sot: number; eot: number };
  io: {
    image: { input: string; output: string };
    text: { input: string; output: string };
    normalized: boolean;
  };
  files: PackageFileEntry[];
  source: { stateDictSha256: string };
}

export type Precision = PackageFileEntry['precision'];

export async function readManifest(packageDir: string): Promise<PackageManifest> {
  return JSON.parse(await readFile(path.join(packageDir, 'manifest.json'), 'utf8')) as PackageManifest;
}

export function encoderFile(manifest: PackageManifest, role: 'image_encoder' | 'text_encoder', precision: Precision): string {
  const entry = manifest.files.find((f) => f.role === role && f.precision === precision);
  if (!entry) throw new Error(`${manifest.name}: no ${precision} ${role} in manifest.json`);
  return entry.path;
}

export async function openEncoder(
  packageDir: string,
  file: string,
  executionProviders: readonly string[] = ['cpu'],
): Promise<ort.InferenceSession> {
  // A file path (not a buffer) so ONNX Runtime finds external data next to the model.
  return ort.InferenceSession.create(path.join(packageDir, file), { executionProviders: [...executionProviders] });
}

function splitRows(data: Float32Array, rows: number, dim: number): Float32Array[] {
  return Array.from({ length: rows }, (_, i) => data.slice(i * dim, (i + 1) * dim));
}

export async function encodeImages(
  session: ort.InferenceSession,
  manifest: PackageManifest,
  pixels: Float32Array[],
): Promise<Float32Array[]> {
  const size = manifest.imageSize;
  const plane = 3 * size * size;
  const batch = new Float32Array(pixels.length * plane);
  pixels.forEach((p, i) => batch.set(p, i * plane));
  const feeds = { [manifest.io.image.input]: new ort.Tensor('float32', batch, [pixels.length, 3, size, size]) };
  const out = (await session.run(feeds))[manifest.io.image.output];
  if (out.dims[0] !== pixels.length || out.dims[1] !== manifest.embeddingDim) throw new Error(`image output dims ${out.dims.join('x')}`);
  return splitRows(out.data as Float32Array, pixels.length, manifest.embeddingDim);
}

export async function encodeTexts(
  session: ort.InferenceSession,
  manifest: PackageManifest,
  rows: number[][],
): Promise<Float32Array[]> {
  const context = manifest.tokenizer.contextLength;
  const ids = new BigInt64Array(rows.length * context);
  rows.forEach((row, i) => {
    if (row.length !== context) throw new Error(`token row ${i} has ${row.length} ids, expected ${context}`);
    row.forEach((id, j) => {
      ids[i * context + j] = BigInt(id);
    });
  });
  const feeds = { [manifest.io.text.input]: new ort.Tensor('int64', ids, [rows.length, context]) };
  const out = (await session.run(feeds))[manifest.io.text.output];
  if (out.dims[0] !== rows.length || out.dims[1] !== manifest.embeddingDim) throw new Error(`text output dims ${out.dims.join('x')}`);
  return splitRows(out.data as Float32Array, rows.length, manifest.embeddingDim);
}

export interface ParityFigures {
  cosines: number[];
  relativeErrors: number[];
  centredCosines: number[];
  /** Largest relative difference between an input run alone and the same input in the batch. */
  batchVsSingleRelativeError: number;
}

function figures(actual: Float32Array[], singles: Float32Array[], expected: number[][]): ParityFigures {
  return {
    cosines: actual.map((row, i) => cosine(row, expected[i])),
    relativeErrors: actual.map((row, i) => relativeError(row, expected[i])),
    centredCosines: centredCosines(actual, expected),
    batchVsSingleRelativeError: Math.max(...singles.map((row, i) => relativeError(row, actual[i]))),
  };
}

export async function imageParity(session: ort.InferenceSession, manifest: PackageManifest, loaded: LoadedFixture): Promise<ParityFigures> {
  const batched = await encodeImages(session, manifest, loaded.pixels);
  const singles: Float32Array[] = [];
  for (const p of loaded.pixels) singles.push((await encodeImages(session, manifest, [p]))[0]);
  return figures(batched, singles, loaded.fixture.imageEmbeds);
}

export async function textParity(session: ort.InferenceSession, manifest: PackageManifest, loaded: LoadedFixture): Promise<ParityFigures> {
  const rows = loaded.fixture.texts.map((t) => t.inputIds);
  const batched = await encodeTexts(session, manifest, rows);
  const singles: Float32Array[] = [];
  for (const row of rows) singles.push((await encodeTexts(session, manifest, [row]))[0]);
  return figures(batched, singles, loaded.fixture.textEmbeds);
}
