// The model package run in this process, the way the service runs it (ModelHost: same manifest checks,
// sessions, preprocessing workers and batching), so the CLI's embeddings are the service's embeddings.
import { readFile } from 'node:fs/promises';
import path from 'node:path';

import type { ModelInfo } from '../client.ts';
import { ConfigError, loadConfig, type InferenceConfig } from '../config.ts';
import { createLogger } from '../logger.ts';
import { InferenceMetrics } from '../metrics.ts';
import type { ModelManifest } from '../models/manifest.schema.ts';
import { encoderSha256 } from '../models/encoder-identity.ts';
import { ModelHost, type LoadedModel } from '../models/model-host.ts';
import { loadModelPackage } from '../models/model-package.ts';
import { ImagePreprocessError, type PreprocessMode } from '../preprocess/index.ts';
import { CliError, fileReadError } from './errors.ts';
import type { Reporter } from './progress.ts';

export interface LocalModelOptions {
  /** Package directory, relative to the working directory; default MODEL_DIR or models/arbor-standin-v1. */
  readonly modelDir?: string;
  /** Overrides the manifest's preprocessing mode. */
  readonly mode?: PreprocessMode;
  /** The environment the service configuration is read from (providers, precision, threads, batch sizes). */
  readonly env?: NodeJS.ProcessEnv;
}

// Image chunks in flight at once: one being preprocessed on the workers while the previous one runs on the encoder.
const IMAGE_CHUNKS_IN_FLIGHT = 2;

export class LocalModel {
  private constructor(
    private readonly host: ModelHost,
    private readonly loaded: LoadedModel,
    private readonly config: InferenceConfig,
    readonly mode: PreprocessMode,
  ) {}

  static async open(options: LocalModelOptions = {}): Promise<LocalModel> {
    const env = options.env ?? process.env;
    let config: InferenceConfig;
    try {
      // The CLI keeps stderr for its own messages; the service's JSON logs appear only when LOG_LEVEL asks for them.
      config = loadConfig({
        ...env,
        LOG_LEVEL: env.LOG_LEVEL || 'silent',
        ...(options.modelDir !== undefined ? { MODEL_DIR: path.resolve(options.modelDir) } : {}),
      });
    } catch (error) {
      if (error instanceof ConfigError) throw new CliError('CONFIG', error.message, { cause: error });
      throw error;
    }
    const mode = options.mode;
    const host = new ModelHost({
      config,
      logger: createLogger(config.logLevel),
      metrics: new InferenceMetrics({ processMetrics: false }),
      loadPackage: async (dir) => {
        const pkg = await loadModelPackage(dir);
        if (!mode) return pkg;
        return { ...pkg, manifest: { ...pkg.manifest, preprocessing: { ...pkg.manifest.preprocessing, mode } } };
      },
    });
    try {
      const loaded = await host.load();
      return new LocalModel(host, loaded, config, loaded.package.manifest.preprocessing.mode);
    } catch (error) {
      await host.close();
      throw error;
    }
  }

  get info(): ModelInfo {
    return this.loaded.info;
  }

  get manifest(): ModelManifest {
    return this.loaded.package.manifest;
  }

  get dir(): string {
    return this.loaded.package.dir;
  }

  get logitScale(): number {
    return this.manifest.logitScale;
  }

  get embeddingDim(): number {
    return this.manifest.embeddingDim;
  }

  /** sha256 of the text encoder file in use (from the verified manifest): what text embeddings depend on. */
  get textEncoderSha256(): string {
    return encoderSha256(this.loaded, 'text_encoder', this.config.precision);
  }

  /**
   * L2-normalised embeddings of image files, in order. Files are read one chunk (MAX_BATCH images) at a time. A file
   * that is missing or not an image fails the whole call with a CliError naming it.
   */
  async embedImageFiles(files: readonly string[], reporter?: Reporter): Promise<Float32Array[]> {
    const chunkSize = this.config.maxBatch;
    const chunks: string[][] = [];
    for (let i = 0; i < files.length; i += chunkSize) chunks.push(files.slice(i, i + chunkSize));
    const progress = reporter?.task('embedding images', files.length, 'images');
    const embed = async (chunk: string[]) => {
      const bytes = await Promise.all(chunk.map(readImageFile));
      try {
        return await this.loaded.images.embed(bytes);
      } catch (error) {
        throw imageError(error, chunk);
      }
    };
    const out: Float32Array[] = [];
    const inFlight: Promise<Float32Array[]>[] = [];
    let next = 0;
    while (out.length < files.length) {
      while (inFlight.length < IMAGE_CHUNKS_IN_FLIGHT && next < chunks.length) inFlight.push(embed(chunks[next++]));
      const head = inFlight.shift()!;
      // The chunks still in flight may fail too; their errors are reported through `head` or later, never unhandled.
      for (const pending of inFlight) pending.catch(() => undefined);
      out.push(...(await head));
      progress?.update(out.length);
    }
    progress?.finish();
    return out;
  }

  /** L2-normalised text embeddings, in order (fed to the batcher a queue's worth at a time). */
  async embedTexts(texts: readonly string[], onProgress?: (done: number) => void): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (let i = 0; i < texts.length; i += this.config.maxQueue) {
      out.push(...(await this.loaded.texts.embed(texts.slice(i, i + this.config.maxQueue))));
      onProgress?.(out.length);
    }
    return out;
  }

  close(): Promise<void> {
    return this.host.close();
  }
}

async function readImageFile(file: string): Promise<Uint8Array> {
  try {
    return await readFile(file);
  } catch (error) {
    throw fileReadError('image', file, error);
  }
}

function imageError(error: unknown, chunk: readonly string[]): unknown {
  if (!(error instanceof ImagePreprocessError) || error.index === undefined) return error;
  const file = chunk[error.index];
  // withIndex() prefixed the batch position ("image 3: "); the file name replaces it.
  const reason = error.message.replace(/^image \d+: /, '');
  return new CliError('IMAGE_UNREADABLE', `image '${file}' cannot be used (${error.code}): ${reason}`, { cause: error });
}
