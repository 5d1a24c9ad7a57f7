// Session worker for HeldEncoder: serves the real ONNX Runtime session exactly as session.worker.ts does,
// but creating it and running it obey the test's HeldControl. A held run blocks this thread inside `run`
// with Atomics.wait, as onnxruntime-node's synchronous run holds it for a whole batch.
import { parentPort, workerData } from 'node:worker_threads';

import * as ort from 'onnxruntime-node';

import { serveSession, type CreateSession } from '../../../src/sessions/serve-session.ts';
import type { SessionWorkerData } from '../../../src/sessions/session-worker-protocol.ts';
import { withRun } from '../session-proxy.ts';
import { HeldControl } from './held-control.ts';

/** The exit code of a worker told to crash (EX_SOFTWARE). */
const CRASH_EXIT_CODE = 70;

if (!parentPort) throw new Error('held-encoder.worker.ts must run in a worker thread');
const data = workerData as SessionWorkerData;
const control = HeldControl.attach(data.entryData);

/** `session` with its `run` held by the control; everything else is the session's own. */
function held(session: ort.InferenceSession): ort.InferenceSession {
  const run = async (...args: Parameters<ort.InferenceSession['run']>) => {
    const mode = control.enterRun();
    if (mode === 'fail') throw new Error('held-encoder: the run was told to fail');
    if (mode === 'crash') process.exit(CRASH_EXIT_CODE);
    return session.run(...args);
  };
  return withRun(session, run as ort.InferenceSession['run']);
}

const createHeldSession: CreateSession = async (modelPath, options) => {
  if (control.creationMode() === 'fail') throw new Error('held-encoder: creating the session was told to fail');
  const session = await ort.InferenceSession.create(modelPath, options);
  control.countSessionCreated();
  return held(session);
};

await serveSession(parentPort, data, createHeldSession);
