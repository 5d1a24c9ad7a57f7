// Worker thread: decodes, resizes and normalises one image per message, off the event loop.
import { parentPort } from 'node:worker_threads';

import { ImagePreprocessError, preprocessImage, type PreprocessOptions } from '../preprocess/index.ts';

export interface PreprocessTask {
  id: number;
  bytes: Uint8Array;
  options: PreprocessOptions;
}

export type PreprocessReply =
  | { id: number; ok: true; data: Float32Array; durationMs: number }
  | { id: number; ok: false; error: { name: string; message: string; code?: string } };

const port = parentPort;
if (!port) throw new Error('preprocess.worker.ts must run in a worker thread');

port.on('message', async (task: PreprocessTask) => {
  const startedAt = performance.now();
  try {
    const tensor = await preprocessImage(task.bytes, task.options);
    const reply: PreprocessReply = { id: task.id, ok: true, data: tensor.data, durationMs: performance.now() - startedAt };
    port.postMessage(reply, [tensor.data.buffer]);
  } catch (error) {
    const err = error as Error;
    const reply: PreprocessReply = {
      id: task.id,
      ok: false,
      error: { name: err.name, message: err.message, code: error instanceof ImagePreprocessError ? error.code : undefined },
    };
    port.postMessage(reply);
  }
});
