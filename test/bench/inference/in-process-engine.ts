import * as ort from "onnxruntime-node";
import type { InferenceConfig } from "../../../services/inference/src/config.ts";
import { l2NormalisedRows } from "../../../services/inference/src/models/embedding-math.ts";
import { ImageEmbedder } from "../../../services/inference/src/models/image-embedder.ts";
import { chooseEncoderFile } from "../../../services/inference/src/models/model-host.ts";
import { loadModelPackage, type ModelPackage } from "../../../services/inference/src/models/model-package.ts";
import { PreprocessPool } from "../../../services/inference/src/models/preprocess-pool.ts";
import { createEncoderSession, sessionOptions } from "../../../services/inference/src/sessions/create-session.ts";
import type { ImageInput } from "./image-inputs.ts";
import { EncoderThread } from "./prototype/encoder-thread.ts";

const quietLogger = { info() {}, warn() {} };

/**
 * The service's image path without HTTP, built from the service's own parts with the service's
 * configuration: the ONNX Runtime session (same options and threads), the preprocessing worker pool
 * (same size) and, for the in-process closed loop, the same ImageEmbedder and micro-batcher.
 */
export class InProcessEngine {
  #thread: Promise<EncoderThread> | undefined;

  private constructor(
    readonly config: InferenceConfig,
    readonly pkg: ModelPackage,
    readonly session: ort.InferenceSession,
    readonly pool: PreprocessPool,
    readonly embedder: ImageEmbedder,
    /** Batches the embedder's micro-batcher ran, and their items (the in-process counterpart of /metrics). */
    readonly batchCounts: { batches: number; items: number },
  ) {}

  static async open(config: InferenceConfig): Promise<InProcessEngine> {
    const pkg = await loadModelPackage(config.modelDir);
    const { session } = await createEncoderSession(
      "image_encoder",
      (usesCuda) => chooseEncoderFile(pkg, "image_encoder", config.precision, usesCuda),
      { providers: ["cpu"], intraOpThreads: config.intraOpThreads, interOpThreads: config.interOpThreads, cudaDeviceId: 0 },
      { logger: quietLogger },
    );
    const pool = new PreprocessPool({
      size: config.preprocessWorkers,
      // Offline batches may queue a whole batch (or two, pipelined) at once.
      maxQueue: Math.max(config.maxQueue, 4 * config.maxBatch),
      preprocess: { mode: pkg.manifest.preprocessing.mode, maxInputPixels: config.maxImagePixels, maxInputBytes: config.maxBodyBytes },
    });
    const batchCounts = { batches: 0, items: 0 };
    const embedder = new ImageEmbedder({
      session,
      io: pkg.manifest.io.image,
      imageSize: pkg.manifest.imageSize,
      embeddingDim: pkg.manifest.embeddingDim,
      pool,
      batch: { maxBatch: config.maxBatch, maxWaitMs: config.maxWaitMs, maxQueue: config.maxQueue },
      observer: {
        batchFinished(size) {
          batchCounts.batches++;
          batchCounts.items += size;
        },
      },
    });
    return new InProcessEngine(config, pkg, session, pool, embedder, batchCounts);
  }

  /** One batch through the encoder, as ImageEmbedder runs it: concatenate, session.run, L2-normalise. */
  async encode(tensors: Float32Array[]): Promise<Float32Array[]> {
    const { imageSize, embeddingDim, io } = this.pkg.manifest;
    const plane = 3 * imageSize * imageSize;
    const pixels = new Float32Array(tensors.length * plane);
    tensors.forEach((tensor, i) => pixels.set(tensor, i * plane));
    const output = (await this.session.run({ [io.image.input]: new ort.Tensor("float32", pixels, [tensors.length, 3, imageSize, imageSize]) }))[io.image.output]!;
    return l2NormalisedRows(output.data as Float32Array, tensors.length, embeddingDim);
  }

  /** The same batch through a second session of the same file and options, on its own thread (prototype). */
  async encodeOnThread(tensors: Float32Array[]): Promise<Float32Array[]> {
    const { imageSize, embeddingDim, io } = this.pkg.manifest;
    this.#thread ??= EncoderThread.open(
      chooseEncoderFile(this.pkg, "image_encoder", this.config.precision, false),
      sessionOptions(["cpu"], { providers: ["cpu"], intraOpThreads: this.config.intraOpThreads, interOpThreads: this.config.interOpThreads, cudaDeviceId: 0 }),
      io.image,
    );
    const thread = await this.#thread;
    const plane = 3 * imageSize * imageSize;
    const pixels = new Float32Array(tensors.length * plane);
    tensors.forEach((tensor, i) => pixels.set(tensor, i * plane));
    const output = await thread.run(pixels, [tensors.length, 3, imageSize, imageSize]);
    return l2NormalisedRows(output.data, tensors.length, embeddingDim);
  }

  async close(): Promise<void> {
    if (this.#thread) await (await this.#thread).close();
    await this.embedder.close();
    await this.pool.close();
    await this.session.release();
  }
}

export const OFFLINE_MODES = ["sequential", "pipelined", "pipelined-encoder-thread"] as const;
export type OfflineMode = (typeof OFFLINE_MODES)[number];

export interface OfflineResult {
  mode: OfflineMode;
  batch: number;
  batches: number;
  images: number;
  seconds: number;
  imagesPerSecond: number;
  /** CPU of this process (all threads) over the timed batches, in cores. */
  cpuCores: number;
  /** Mean time per batch in the worker pool (wall, all workers) and in the encoder. */
  meanPreprocessMs: number;
  meanEncodeMs: number;
}

/**
 * The offline batched figure: batches of `batch` images through the worker pool, then one session
 * call per batch. `sequential` preprocesses a batch, then encodes it; `pipelined` preprocesses batch
 * k + 1 while batch k is encoded (what a batch job would do); `pipelined-encoder-thread` does the same
 * with the session on its own thread, so that the main thread keeps feeding the workers meanwhile
 * (onnxruntime-node's run blocks the thread that calls it). Timing starts when the first batch
 * after `warmupBatches` completes (steady state, pipeline full) and stops at the first batch boundary
 * after `durationMs`, so the figure is whole batches over their wall time.
 */
export async function runOffline(
  engine: InProcessEngine,
  images: readonly ImageInput[],
  options: { mode: OfflineMode; batch: number; durationMs: number; warmupBatches: number },
): Promise<OfflineResult> {
  let next = 0;
  const takeBatch = () => Array.from({ length: options.batch }, () => images[next++ % images.length]!.bytes);
  const preprocessMs: number[] = [];
  const encodeMs: number[] = [];
  const preprocess = async (bytes: Uint8Array[]) => {
    const start = performance.now();
    const tensors = await engine.pool.preprocess(bytes);
    preprocessMs.push(performance.now() - start);
    return tensors;
  };
  const encode = async (tensors: Float32Array[]) => {
    const start = performance.now();
    const vectors = options.mode === "pipelined-encoder-thread" ? await engine.encodeOnThread(tensors) : await engine.encode(tensors);
    encodeMs.push(performance.now() - start);
    if (vectors.length !== tensors.length) throw new Error("encoder returned the wrong number of rows");
  };

  let completed = 0;
  let timedStart = 0;
  let timedBatches = 0;
  let timedEnd = 0;
  let cpuAtStart = process.cpuUsage();
  let cpuInWindow = { user: 0, system: 0 };
  const afterBatch = (): boolean => {
    completed++;
    const now = performance.now();
    timedEnd = now;
    cpuInWindow = process.cpuUsage(cpuAtStart);
    if (completed === options.warmupBatches + 1) {
      timedStart = now;
      cpuAtStart = process.cpuUsage();
      preprocessMs.length = 0;
      encodeMs.length = 0;
      return true;
    }
    if (completed > options.warmupBatches + 1) timedBatches++;
    return now - timedStart < options.durationMs || completed <= options.warmupBatches + 1;
  };

  if (options.mode === "sequential") {
    for (;;) {
      await encode(await preprocess(takeBatch()));
      if (!afterBatch()) break;
    }
  } else {
    let ready = preprocess(takeBatch());
    for (;;) {
      const tensors = await ready;
      ready = preprocess(takeBatch());
      await encode(tensors);
      if (!afterBatch()) break;
    }
    await ready; // the prefetched batch: finish it so the pool is idle for the next phase
  }
  const seconds = (timedEnd - timedStart) / 1000;
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  return {
    mode: options.mode,
    batch: options.batch,
    batches: timedBatches,
    images: timedBatches * options.batch,
    seconds,
    imagesPerSecond: (timedBatches * options.batch) / seconds,
    cpuCores: (cpuInWindow.user + cpuInWindow.system) / 1e6 / seconds,
    meanPreprocessMs: mean(preprocessMs),
    meanEncodeMs: mean(encodeMs),
  };
}
