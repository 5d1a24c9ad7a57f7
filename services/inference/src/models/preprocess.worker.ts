// Worker thread: decodes, resizes and normalises one image per message, off the event loop, into the
// task's slot of the pool's shared tensor arena (so the reply carries no pixels).
import { parentPort } from 'node:worker_threads';

import { ImagePreprocessError, preprocessImageInto, type PreprocessOptions } from '../preprocess/index.ts';

export interface PreprocessTask {
  id: number;
  bytes: Uint8Array;
  options: PreprocessOptions;
  /** Where the tensor goes: the task's slot, shared with the main thread. */
  output: Float32Array<SharedArrayBuffer>;
}

export type PreprocessReply =
  | { id: number; ok: true; durationMs: number }
  | { id: number; ok: false; error: { name: string; message: string; code?: string } };

if (!parentPort) throw new Error('preprocess.worker.ts must run in a worker thread');
const port = parentPort;

// The pool posts several images ahead (prefetch); they are preprocessed one at a time, in order, so a
// worker holds one decoded image at once (a 50-megapixel image decodes to 150 MB). Working on several at
// once (libvips decoding one while JavaScript resamples another) measured only 5–9 % faster on photos.
let previous = Promise.resolve();
port.on('message', (task: PreprocessTask) => {
  // preprocess() answers every failure itself; anything else ends the thread and the pool replaces it.
  previous = previous
    .then(() => preprocess(task))
    .catch((error: unknown) => {
      setImmediate(() => {
        throw error;
      });
    });
});

async function preprocess(task: PreprocessTask): Promise<void> {
  const startedAt = performance.now();
  try {
    await preprocessImageInto(task.bytes, task.options, task.output);
    const reply: PreprocessReply = { id: task.id, ok: true, durationMs: performance.now() - startedAt };
    port.postMessage(reply);
  } catch (error) {
    const err = error as Error;
    const reply: PreprocessReply = {
      id: task.id,
      ok: false,
      error: { name: err.name, message: err.message, code: error instanceof ImagePreprocessError ? error.code : undefined },
    };
    port.postMessage(reply);
  }
}
