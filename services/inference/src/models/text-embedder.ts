import * as ort from 'onnxruntime-node';

import { InFlight } from '../batching/in-flight.ts';
import { MicroBatcher, type BatchObserver } from '../batching/micro-batcher.ts';
import { ShuttingDownError } from '../batching/errors.ts';
import type { ClipTokenizer } from '../tokenizer/index.ts';
import { encodeBatch } from './encode-batch.ts';
import type { BatchSettings } from './image-embedder.ts';

export interface TextEmbedderOptions {
  /** The text encoder; the service's runs on its own worker thread (WorkerSession). */
  session: ort.InferenceSession;
  io: { input: string; output: string };
  tokenizer: ClipTokenizer;
  contextLength: number;
  embeddingDim: number;
  batch: BatchSettings;
  observer?: BatchObserver;
}

/**
 * Texts → L2-normalised embeddings. Tokenising is cheap and stays on the event loop; rows of token ids
 * are micro-batched. The encoder graph reads the embedding at the eot position itself.
 */
export class TextEmbedder {
  readonly batcher: MicroBatcher<BigInt64Array, Float32Array>;
  readonly #options: TextEmbedderOptions;
  readonly #inFlight = new InFlight();
  #closing = false;

  constructor(options: TextEmbedderOptions) {
    this.#options = options;
    this.batcher = new MicroBatcher({
      name: 'text',
      ...options.batch,
      runBatch: (rows) => this.#run(rows),
      observer: options.observer,
    });
  }

  embed(texts: readonly string[]): Promise<Float32Array[]> {
    if (this.#closing) return Promise.reject(new ShuttingDownError('text'));
    return this.#inFlight.track(async () => {
      const { tokenizer, contextLength } = this.#options;
      const { ids } = tokenizer.tokenizeBatch(texts, contextLength);
      const rows = texts.map((_, i) => ids.subarray(i * contextLength, (i + 1) * contextLength));
      return this.batcher.submit(rows);
    });
  }

  async close(): Promise<void> {
    this.#closing = true;
    await this.#inFlight.idle();
    await this.batcher.drain();
  }

  async #run(rows: BigInt64Array[]): Promise<Float32Array[]> {
    const { session, io, contextLength, embeddingDim } = this.#options;
    const ids = new BigInt64Array(rows.length * contextLength);
    rows.forEach((row, i) => ids.set(row, i * contextLength));
    const input = new ort.Tensor('int64', ids, [rows.length, contextLength]);
    return encodeBatch({ session, encoder: 'text', io, embeddingDim }, input, rows.length);
  }
}
