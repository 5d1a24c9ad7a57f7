// The one place the inference service reads its environment. services/inference/README.md documents
// every variable; keep the two in step.
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

import { resolveImageDir } from '@arbor/store/image-files.ts';

import { PrecisionSettingSchema, type PrecisionSetting } from './models/encoder-precision.ts';
import { EXECUTION_PROVIDERS, type ExecutionProviderName } from './sessions/providers.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CORES = availableParallelism();

export interface InferenceConfig {
  host: string;
  port: number;
  /** Absolute path of the model package directory. */
  modelDir: string;
  /** `eager`: load at start (readiness turns 200 when done). `lazy`: load on the first embedding request. */
  modelLoad: 'eager' | 'lazy';
  /** `auto`: fp16 encoders on CUDA when the package has them, fp32 otherwise; int8 only when asked for. */
  precision: PrecisionSetting;
  providers: ExecutionProviderName[];
  cudaDeviceId: number;
  intraOpThreads: number;
  interOpThreads: number;
  /** ONNX Runtime's idle threads busy-wait for the next parallel section (INFERENCE_SPIN_WAIT). */
  spinWait: boolean;
  preprocessWorkers: number;
  /** Largest image batch; texts use `textMaxBatch`. */
  maxBatch: number;
  textMaxBatch: number;
  maxWaitMs: number;
  /** Items that may wait in each queue (preprocessing, image batches, text batches). */
  maxQueue: number;
  maxBodyBytes: number;
  maxImagesPerRequest: number;
  maxTextsPerRequest: number;
  maxTextChars: number;
  maxImagePixels: number;
  shutdownTimeoutMs: number;
  /** Candidate species of POST /v1/classify: official-format folder (txt_emb_species.npy + .json), else a species list. */
  classifySpeciesEmbeddings?: string;
  /** CSV of candidate species (kingdom … species_epithet, common_name), embedded with the model's text encoder once. */
  classifySpeciesList: string;
  /** Where embedded species lists are cached (shared with `arbor predict`). */
  cacheDir: string;
  /** Classification requests that may wait while one runs. */
  classifyMaxQueue: number;
  maxLabelsPerRequest: number;
  /** PostgreSQL of Arbor's `image` table; set, POST /v1/embed/images also takes stored image ids. */
  databaseUrl?: string;
  /** Absolute folder of the content-addressed image files (IMAGE_DIR, else `<DATA_DIR>/images`). */
  imageDir: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const int = (min: number) => z.coerce.number().int().min(min);

const providerList = z
  .string()
  .transform((value) => value.split(',').map((item) => item.trim().toLowerCase()).filter(Boolean))
  .pipe(z.array(z.enum(EXECUTION_PROVIDERS)).min(1));

const EnvSchema = z
  .object({
    INFERENCE_HOST: z.string().min(1).default('127.0.0.1'),
    INFERENCE_PORT: int(0).max(65535).default(4100),
    MODEL_DIR: z.string().min(1).default('models/arbor-standin-v1'),
    MODEL_LOAD: z.enum(['eager', 'lazy']).default('eager'),
    MODEL_PRECISION: PrecisionSettingSchema.default('auto'),
    INFERENCE_PROVIDERS: providerList.default(['cpu']),
    CUDA_DEVICE_ID: int(0).default(0),
    INFERENCE_INTRA_OP_THREADS: int(1).default(CORES),
    INFERENCE_INTER_OP_THREADS: int(1).default(1),
    INFERENCE_SPIN_WAIT: z.enum(['on', 'off']).default('off'),
    PREPROCESS_WORKERS: int(1).default(Math.min(2, CORES)),
    MAX_BATCH: int(1).default(16),
    TEXT_MAX_BATCH: int(1).default(64),
    MAX_WAIT_MS: int(0).default(10),
    MAX_QUEUE: int(1).default(256),
    MAX_BODY_BYTES: int(1024).default(32 * 1024 * 1024),
    MAX_IMAGES_PER_REQUEST: int(1).default(32),
    MAX_TEXTS_PER_REQUEST: int(1).default(256),
    MAX_TEXT_CHARS: int(1).default(1000),
    MAX_IMAGE_PIXELS: int(1).default(50_000_000),
    SHUTDOWN_TIMEOUT_MS: int(0).default(30_000),
    CLASSIFY_SPECIES_EMBEDDINGS: z.string().min(1).optional(),
    CLASSIFY_SPECIES_LIST: z.string().min(1).default('data/seed/bioclip_rare_species_400.csv'),
    ARBOR_CACHE_DIR: z.string().min(1).default('.arbor/cache'),
    CLASSIFY_MAX_QUEUE: int(1).default(64),
    MAX_LABELS_PER_REQUEST: int(1).default(256),
    DATABASE_URL: z.string().min(1).optional(),
    DATA_DIR: z.string().min(1).optional(),
    IMAGE_DIR: z.string().min(1).optional(),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .superRefine((env, ctx) => {
    // A request larger than a queue could never be admitted; refuse the configuration instead.
    if (env.MAX_QUEUE < env.MAX_IMAGES_PER_REQUEST) {
      ctx.addIssue({ code: 'custom', path: ['MAX_QUEUE'], message: `must be at least MAX_IMAGES_PER_REQUEST (${env.MAX_IMAGES_PER_REQUEST})` });
    }
    if (env.MAX_QUEUE < env.MAX_TEXTS_PER_REQUEST) {
      ctx.addIssue({ code: 'custom', path: ['MAX_QUEUE'], message: `must be at least MAX_TEXTS_PER_REQUEST (${env.MAX_TEXTS_PER_REQUEST})` });
    }
  });

/** Reads and validates the environment. Empty variables count as unset. Throws ConfigError listing every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): InferenceConfig {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ''));
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid inference configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  return {
    host: e.INFERENCE_HOST,
    port: e.INFERENCE_PORT,
    modelDir: path.resolve(REPO_ROOT, e.MODEL_DIR),
    modelLoad: e.MODEL_LOAD,
    precision: e.MODEL_PRECISION,
    providers: e.INFERENCE_PROVIDERS,
    cudaDeviceId: e.CUDA_DEVICE_ID,
    intraOpThreads: e.INFERENCE_INTRA_OP_THREADS,
    interOpThreads: e.INFERENCE_INTER_OP_THREADS,
    spinWait: e.INFERENCE_SPIN_WAIT === 'on',
    preprocessWorkers: e.PREPROCESS_WORKERS,
    maxBatch: e.MAX_BATCH,
    textMaxBatch: e.TEXT_MAX_BATCH,
    maxWaitMs: e.MAX_WAIT_MS,
    maxQueue: e.MAX_QUEUE,
    maxBodyBytes: e.MAX_BODY_BYTES,
    maxImagesPerRequest: e.MAX_IMAGES_PER_REQUEST,
    maxTextsPerRequest: e.MAX_TEXTS_PER_REQUEST,
    maxTextChars: e.MAX_TEXT_CHARS,
    maxImagePixels: e.MAX_IMAGE_PIXELS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    ...(e.CLASSIFY_SPECIES_EMBEDDINGS ? { classifySpeciesEmbeddings: path.resolve(REPO_ROOT, e.CLASSIFY_SPECIES_EMBEDDINGS) } : {}),
    classifySpeciesList: path.resolve(REPO_ROOT, e.CLASSIFY_SPECIES_LIST),
    cacheDir: path.resolve(REPO_ROOT, e.ARBOR_CACHE_DIR),
    classifyMaxQueue: e.CLASSIFY_MAX_QUEUE,
    maxLabelsPerRequest: e.MAX_LABELS_PER_REQUEST,
    ...(e.DATABASE_URL ? { databaseUrl: e.DATABASE_URL } : {}),
    imageDir: resolveImageDir({ imageDir: e.IMAGE_DIR, dataDir: e.DATA_DIR }, REPO_ROOT),
    logLevel: e.LOG_LEVEL,
  };
}
