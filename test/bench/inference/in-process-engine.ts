import * as ort from "onnxruntime-node";
import type { InferenceConfig } from "../../../services/inference/src/config.ts";
import { ImageEmbedder, SlotBatchEncoder } from "../../../services/inference/src/models/image-embedder.ts";
import { chooseEncoderFile } from "../../../services/inference/src/models/model-host.ts";
import { loadModelPackage, type ModelPackage } from "../../../services/inference/src/models/model-package.ts";
import { prefetchDepth, PreprocessPool } from "../../../services/inference/src/models/preprocess-pool.ts";
import { createEncoderSession } from "../../../services/inference/src/sessions/create-session.ts";
import type { TensorSlot } from "../../../services/inference/src/models/tensor-arena.ts";
import { openWorkerSession } from "../../../services/inference/src/sessions/worker-session.ts";
import type { ImageInput } from "./image-inputs.ts";

const quietLogger = { info() {}, warn() {} };

/**
 * The service's image path without HTTP, built from the service's own parts with the service's
 * configuration: the ONNX Runtime session (same options and threads) on the main thread as a batch job
 * would hold it and on its own worker thread as the service holds it (WorkerSession), the preprocessing
 * worker pool (same size and prefetch depth) and, for the in-process closed loop, the same ImageEmbedder
 * and micro-batcher on the worker-thread session.
 */
export class InProcessEngine {
  readonly mainEncoder: SlotBatchEncoder;
  readonly workerEncoder: SlotBatchEncoder;

  private constructor(
    readonly config: InferenceConfig,
    readonly pkg: ModelPackage,
    /** On the main thread (offline sequential / pipelined). */
    readonly session: ort.InferenceSession,
    /** On its own thread, as in the service (offline pipelined-encoder-thread, in-process service). */
    readonly workerSession: ort.InferenceSession,
    readonly pool: PreprocessPool,
    readonly embedder: ImageEmbedder,
    /** Batches the embedder's micro-batcher ran, and their items (the in-process counterpart of /metrics). */
    readonly batchCounts: { batches: number; items: number },
  ) {
    const { io, imageSize, embeddingDim } = pkg.manifest;
    const settings = { io: io.image, imageSize, embeddingDim, maxBatch: config.maxBatch };
    this.mainEncoder = new SlotBatchEncoder({ ...settings, session });
    this.workerEncoder = new SlotBatchEncoder({ ...settings, session: workerSession });
  }

  static async open(config: InferenceConfig): Promise<InProcessEngine> {
    const pkg = await loadModelPackage(config.modelDir);
    const open = (factory?: typeof openWorkerSession) =>
      createEncoderSession(
        "image_encoder",
        (usesCuda) => chooseEncoderFile(pkg, "image_encoder", config.precision, usesCuda),
        { providers: ["cpu"], intraOpThreads: config.intraOpThreads, interOpThreads: config.interOpThreads, spinWait: config.spinWait, cudaDeviceId: 0 },
        { logger: quietLogger, factory },
      );
    const { session } = await open();
    const { session: workerSession } = await open(openWorkerSession);
    const pool = new PreprocessPool({
      size: config.preprocessWorkers,
      perWorkerDepth: prefetchDepth(config.maxBatch, config.preprocessWorkers),
      // Offline batches may queue a whole batch (or two, pipelined) at once.
      maxQueue: Math.max(config.maxQueue, 4 * config.maxBatch),
      preprocess: { mode: pkg.manifest.preprocessing.mode, maxInputPixels: config.maxImagePixels, maxInputBytes: config.maxBodyBytes },
    });
    const batchCounts = { batches: 0, items: 0 };
    const embedder = new ImageEmbedder({
      session: workerSession,
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
    return new InProcessEngine(config, pkg, session, workerSession, pool, embedder, batchCounts);
  }

  /** One batch of preprocessed slots through the encoder as the service runs it (SlotBatchEncoder), on the main thread or on the worker session's thread. */
  encode(slots: readonly TensorSlot[], thread: "main" | "worker" = "main"): Promise<Float32Array[]> {
    return (thread === "main" ? this.mainEncoder : this.workerEncoder).encode(slots);
  }

  async close(): Promise<void> {
    await this.embedder.close();
    await this.pool.close();
    await this.session.release();
    await this.workerSession.release();
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
 * with the session on its own thread as the service runs it (WorkerSession), so that the main thread
 * keeps feeding the workers meanwhile (onnxruntime-node's run blocks the thread that calls it). Timing starts when the first batch
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
    const slots = await engine.pool.preprocessToSlots(bytes);
    preprocessMs.push(performance.now() - start);
    return slots;
  };
  const encode = async (slots: TensorSlot[]) => {
    const start = performance.now();
    const vectors = await engine.encode(slots, options.mode === "pipelined-encoder-thread" ? "worker" : "main");
    encodeMs.push(performance.now() - start);
    if (vectors.length !== slots.length) throw new Error("encoder returned the wrong number of rows");
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
      const slots = await ready;
      ready = preprocess(takeBatch());
      await encode(slots);
      if (!afterBatch()) break;
    }
    for (const slot of await ready) slot.release(); // the prefetched batch: finish it so the pool is idle for the next phase
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
