import * as ort from 'onnxruntime-node';

import { InFlight } from '../batching/in-flight.ts';
import { MicroBatcher, type BatchObserver } from '../batching/micro-batcher.ts';
import { ShuttingDownError } from '../batching/errors.ts';
import { encodeBatch } from './encode-batch.ts';
import type { PreprocessPool } from './preprocess-pool.ts';

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

/** Image bytes → L2-normalised embeddings: preprocessing on worker threads, then micro-batched ONNX runs. */
export class ImageEmbedder {
  readonly batcher: MicroBatcher<Float32Array, Float32Array>;
  readonly #options: ImageEmbedderOptions;
  readonly #inFlight = new InFlight();
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
      const tensors = await this.#options.pool.preprocess(images);
      return this.batcher.submit(tensors);
    });
  }

  /** Finishes every accepted call, then stops batching. */
  async close(): Promise<void> {
    this.#closing = true;
    await this.#inFlight.idle();
    await this.batcher.drain();
  }

  async #run(tensors: Float32Array[]): Promise<Float32Array[]> {
    const { session, io, imageSize, embeddingDim } = this.#options;
    const plane = 3 * imageSize * imageSize;
    const pixels = new Float32Array(tensors.length * plane);
    tensors.forEach((tensor, i) => pixels.set(tensor, i * plane));
    const input = new ort.Tensor('float32', pixels, [tensors.length, 3, imageSize, imageSize]);
    return encodeBatch({ session, encoder: 'image', io, embeddingDim }, input, tensors.length);
  }
}
