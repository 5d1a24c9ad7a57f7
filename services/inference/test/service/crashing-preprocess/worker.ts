// The real preprocessing worker, except that an image whose bytes begin with "CRASH" ends the thread
// (exit code 3) before it answers: the pool must fail those images and give their slots back.
import { parentPort } from 'node:worker_threads';

// Imported first, so its listener is attached before any message is delivered; it only queues the
// work (a promise chain), and this listener, called right after it for the same message, exits first.
import '../../../src/models/preprocess.worker.ts';
import type { PreprocessTask } from '../../../src/models/preprocess.worker.ts';

const CRASH = Buffer.from('CRASH');
parentPort!.on('message', (task: PreprocessTask) => {
  if (Buffer.from(task.bytes.buffer, task.bytes.byteOffset, Math.min(task.bytes.byteLength, CRASH.length)).equals(CRASH)) process.exit(3);
});
