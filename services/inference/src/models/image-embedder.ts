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

/** What a batch of image tensors runs through: the encoder session and its tensor layout. */
export interface ImageBatchSettings {
  session: ort.InferenceSession;
  io: { input: string; output: string };
  imageSize: number;
  embeddingDim: number;
  /** Largest batch; the input buffer is sized for it. */
  maxBatch: number;
}

/**
 * Runs batches of preprocessed tensors (held in the pool's shared slots) through the image encoder.
 * Steady state allocates no pixel buffers on this thread: each batch is copied into a recycled input
 * buffer, after which its slots are released. For a WorkerSession that buffer is shared memory too
 * (nothing is transferred; its thread copies the batch into an input buffer of its own); for a session
 * on this thread it is a plain ArrayBuffer, which onnxruntime-node requires. Runs must not overlap
 * (MicroBatcher runs one batch at a time; a second concurrent run would only allocate another buffer).
 */
export class SlotBatchEncoder {
  readonly #settings: ImageBatchSettings;
  /** Input buffers not in use (normally one). */
  readonly #spareInputs: ArrayBufferLike[] = [];

  constructor(settings: ImageBatchSettings) {
    this.#settings = settings;
  }

  async encode(slots: readonly TensorSlot[]): Promise<Float32Array[]> {
    const { session, io, imageSize, embeddingDim, maxBatch } = this.#settings;
    if (slots.length > maxBatch) throw new RangeError(`a batch of ${slots.length} exceeds maxBatch ${maxBatch}`);
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
    const bytes = this.#settings.maxBatch * plane * Float32Array.BYTES_PER_ELEMENT;
    return runsOnWorkerThread(this.#settings.session) ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
  }
}

/** Image bytes → L2-normalised embeddings: preprocessing on worker threads, then micro-batched ONNX runs (SlotBatchEncoder). */
export class ImageEmbedder {
  readonly batcher: MicroBatcher<TensorSlot, Float32Array>;
  readonly #options: ImageEmbedderOptions;
  readonly #inFlight = new InFlight();
  #closing = false;

  constructor(options: ImageEmbedderOptions) {
    this.#options = options;
    const { session, io, imageSize, embeddingDim } = options;
    const encoder = new SlotBatchEncoder({ session, io, imageSize, embeddingDim, maxBatch: options.batch.maxBatch });
    this.batcher = new MicroBatcher({
      name: 'image',
      ...options.batch,
      runBatch: (slots) => encoder.encode(slots),
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
        // Normally done by the encoder already; this covers a refused submission (queue full, shutdown).
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
}
