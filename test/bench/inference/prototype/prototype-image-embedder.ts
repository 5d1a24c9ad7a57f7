// PROTOTYPE (benchmark only): services/inference/src/models/image-embedder.ts with the two changes the
// inference-http benchmark measures: the encoder may run on its own thread (EncoderThread), and the
// preprocessing pool may be the prefetching one. Everything else (micro-batcher, admission,
// normalisation) is the service's own code.
import * as ort from 'onnxruntime-node';

import { InFlight } from '../../../../services/inference/src/batching/in-flight.ts';
import { MicroBatcher, type BatchObserver } from '../../../../services/inference/src/batching/micro-batcher.ts';
import { ShuttingDownError } from '../../../../services/inference/src/batching/errors.ts';
import { l2NormalisedRows } from '../../../../services/inference/src/models/embedding-math.ts';
import type { BatchSettings } from '../../../../services/inference/src/models/image-embedder.ts';
import type { EncoderThread } from './encoder-thread.ts';

export interface ImagePreprocessor {
  preprocess(images: readonly Uint8Array[]): Promise<Float32Array[]>;
}

export interface PrototypeImageEmbedderOptions {
  /** Either a session run on the calling (main) thread, as the service does, or a session on its own thread. */
  encoder: { session: ort.InferenceSession } | { thread: EncoderThread };
  io: { input: string; output: string };
  imageSize: number;
  embeddingDim: number;
  pool: ImagePreprocessor;
  batch: BatchSettings;
  observer?: BatchObserver;
}

export class PrototypeImageEmbedder {
  readonly batcher: MicroBatcher<Float32Array, Float32Array>;
  readonly #options: PrototypeImageEmbedderOptions;
  readonly #inFlight = new InFlight();
  #closing = false;

  constructor(options: PrototypeImageEmbedderOptions) {
    this.#options = options;
    this.batcher = new MicroBatcher({ name: 'image', ...options.batch, runBatch: (tensors) => this.#run(tensors), observer: options.observer });
  }

  embed(images: readonly Uint8Array[]): Promise<Float32Array[]> {
    if (this.#closing) return Promise.reject(new ShuttingDownError('image'));
    return this.#inFlight.track(async () => {
      this.batcher.assertAdmissible(images.length);
      const tensors = await this.#options.pool.preprocess(images);
      return this.batcher.submit(tensors);
    });
  }

  async close(): Promise<void> {
    this.#closing = true;
    await this.#inFlight.idle();
    await this.batcher.drain();
  }

  async #run(tensors: Float32Array[]): Promise<Float32Array[]> {
    const { encoder, io, imageSize, embeddingDim } = this.#options;
    const plane = 3 * imageSize * imageSize;
    const pixels = new Float32Array(tensors.length * plane);
    tensors.forEach((tensor, i) => pixels.set(tensor, i * plane));
    const dims = [tensors.length, 3, imageSize, imageSize];
    let data: Float32Array;
    let outDims: readonly number[];
    if ('session' in encoder) {
      const output = (await encoder.session.run({ [io.input]: new ort.Tensor('float32', pixels, dims) }))[io.output]!;
      data = output.data as Float32Array;
      outDims = output.dims;
    } else {
      ({ data, dims: outDims } = await encoder.thread.run(pixels, dims));
    }
    if (outDims[0] !== tensors.length || outDims[1] !== embeddingDim) {
      throw new Error(`image encoder output has dims [${outDims.join(', ')}], expected [${tensors.length}, ${embeddingDim}]`);
    }
    return l2NormalisedRows(data, tensors.length, embeddingDim);
  }
}
