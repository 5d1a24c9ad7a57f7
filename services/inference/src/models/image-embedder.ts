import * as ort from 'onnxruntime-node';

import { InFlight } from '../batching/in-flight.ts';
import { MicroBatcher, type BatchObserver } from '../batching/micro-batcher.ts';
import { ShuttingDownError } from '../batching/errors.ts';
import { runsOnWorkerThread } from '../sessions/worker-session.ts';
import { encodeBatch } from './encode-batch.ts';
import type { PreprocessPool } from './preprocess-pool.ts';
import type { TensorSlot } from './tensor-arena.ts';

export interface BatchSettings {
  maxBatch: number;
  maxWaitMs: number;
  maxQueue: number;
}

export interface ImageEmbedderOptions {
  /** The image encoder; the service's runs on its own worker thread (WorkerSession). */
  session: ort.InferenceSession;
  io: { input: string; output: string };
  imageSize: number;
  embeddingDim: number;
  pool: PreprocessPool;
  batch: BatchSettings;
  observer?: BatchObserver;
}

/**
 * Image bytes → L2-normalised embeddings: preprocessing on worker threads, then micro-batched ONNX runs.
 *
 * Steady state allocates no pixel buffers on this thread: tensors wait in the pool's shared slots,
 * and each batch is copied into a recycled input buffer, after which the slots are released. For a
 * WorkerSession that buffer is shared memory too (nothing is transferred; its thread copies the batch
 * into an input buffer of its own); for a session on this thread it is a plain ArrayBuffer, which
 * onnxruntime-node requires.
 */
export class ImageEmbedder {
  readonly batcher: MicroBatcher<TensorSlot, Float32Array>;
  readonly #options: ImageEmbedderOptions;
  readonly #inFlight = new InFlight();
  /** Batch input buffers not in use (MicroBatcher runs one batch at a time, so normally one). */
  readonly #spareInputs: ArrayBufferLike[] = [];
  #closing = false;

  constructor(options: ImageEmbedderOptions) {
    this.#options = options;
    this.batcher = new MicroBatcher({
      name: 'image',
      ...options.batch,
      runBatch: (tensors) => this.#run(tensors),
      observer: options.observer,
    });
  }

  embed(images: readonly Uint8Array[]): Promise<Float32Array[]> {
    if (this.#closing) return Promise.reject(new ShuttingDownError('image'));
    return this.#inFlight.track(async () => {
      // Refuse before spending worker time on images that could not be queued anyway.
      this.batcher.assertAdmissible(images.length);
      const slots = await this.#options.pool.preprocessToSlots(images);
      try {
        return await this.batcher.submit(slots);
      } finally {
        // Normally done by #run already; this covers a refused submission (queue full, shutdown).
        for (const slot of slots) slot.release();
      }
    });
  }

  /** Finishes every accepted call, then stops batching. */
  async close(): Promise<void> {
    this.#closing = true;
    await this.#inFlight.idle();
    await this.batcher.drain();
  }

  async #run(slots: TensorSlot[]): Promise<Float32Array[]> {
    const { session, io, imageSize, embeddingDim } = this.#options;
    const plane = 3 * imageSize * imageSize;
    const buffer = this.#spareInputs.pop() ?? this.#newInputBuffer(plane);
    try {
      const pixels = new Float32Array(buffer, 0, slots.length * plane);
      slots.forEach((slot, i) => {
        pixels.set(slot.data, i * plane);
        slot.release();
      });
      const input = new ort.Tensor('float32', pixels, [slots.length, 3, imageSize, imageSize]);
      return await encodeBatch({ session, encoder: 'image', io, embeddingDim }, input, slots.length);
    } finally {
      // The run has settled, so its thread no longer reads the buffer. A transferred (detached) one is dropped.
      if (buffer.byteLength > 0) this.#spareInputs.push(buffer);
    }
  }

  #newInputBuffer(plane: number): ArrayBufferLike {
    const bytes = this.batcher.maxBatch * plane * Float32Array.BYTES_PER_ELEMENT;
    return runsOnWorkerThread(this.#options.session) ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
  }
}
