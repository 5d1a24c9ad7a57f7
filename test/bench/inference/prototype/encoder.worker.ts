// PROTOTYPE (benchmark only): an ONNX Runtime session on its own thread. onnxruntime-node runs
// session.run synchronously on the calling thread (dist/backend.js: the native run inside
// setImmediate), so on the main thread it blocks the event loop for a whole batch.
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

export interface EncoderWorkerData {
  entry: string;
  modelPath: string;
  options: ort.InferenceSession.SessionOptions;
  input: string;
  output: string;
}

export type EncoderRequest = { id: number; data: Float32Array; dims: number[] };
export type EncoderReply = { id: number; ok: true; data: Float32Array; dims: readonly number[] } | { id: number; ok: false; message: string };

const port = parentPort;
if (!port) throw new Error('encoder.worker.ts must run in a worker thread');
const config = workerData as EncoderWorkerData;
const session = await ort.InferenceSession.create(config.modelPath, config.options);
port.postMessage({ ready: true });

port.on('message', async (request: EncoderRequest | 'close') => {
  if (request === 'close') {
    await session.release();
    port.close();
    return;
  }
  try {
    const output = (await session.run({ [config.input]: new ort.Tensor('float32', request.data, request.dims) }))[config.output]!;
    const data = output.data as Float32Array;
    const reply: EncoderReply = { id: request.id, ok: true, data, dims: output.dims };
    port.postMessage(reply, [data.buffer as ArrayBuffer]);
  } catch (error) {
    port.postMessage({ id: request.id, ok: false, message: (error as Error).message } satisfies EncoderReply);
  }
});
