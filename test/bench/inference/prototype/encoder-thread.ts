// PROTOTYPE (benchmark only): the main-thread side of encoder.worker.ts.
import { Worker } from 'node:worker_threads';
import type * as ort from 'onnxruntime-node';
import type { EncoderReply, EncoderRequest, EncoderWorkerData } from './encoder.worker.ts';

const BOOTSTRAP = new URL('../../../../services/inference/src/models/worker-bootstrap.mjs', import.meta.url);
const ENTRY = new URL('./encoder.worker.ts', import.meta.url).href;

/** One ONNX Runtime session on a worker thread; `run` transfers the input and output buffers (no copies). */
export class EncoderThread {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (reply: { data: Float32Array; dims: readonly number[] }) => void; reject: (error: Error) => void }>();
  #nextId = 1;

  private constructor(worker: Worker) {
    this.#worker = worker;
    worker.on('message', (reply: EncoderReply) => {
      const pending = this.#pending.get(reply.id);
      if (!pending) return;
      this.#pending.delete(reply.id);
      if (reply.ok) pending.resolve({ data: reply.data, dims: reply.dims });
      else pending.reject(new Error(reply.message));
    });
    worker.on('error', (error) => {
      for (const pending of this.#pending.values()) pending.reject(error);
      this.#pending.clear();
    });
  }

  static async open(modelPath: string, options: ort.InferenceSession.SessionOptions, io: { input: string; output: string }): Promise<EncoderThread> {
    const data: EncoderWorkerData = { entry: ENTRY, modelPath, options, input: io.input, output: io.output };
    const worker = new Worker(BOOTSTRAP, { workerData: data, execArgv: [] });
    await new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    return new EncoderThread(worker);
  }

  run(data: Float32Array, dims: number[]): Promise<{ data: Float32Array; dims: readonly number[] }> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      const request: EncoderRequest = { id, data, dims };
      this.#worker.postMessage(request, [data.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    this.#worker.postMessage('close');
    await new Promise<void>((resolve) => this.#worker.once('exit', () => resolve()));
  }
}
