// Worker thread owning one ONNX Runtime session (started by WorkerSession through worker-bootstrap.mjs).
import { parentPort, workerData } from 'node:worker_threads';

import { serveSession } from './serve-session.ts';
import type { SessionWorkerData } from './session-worker-protocol.ts';

if (!parentPort) throw new Error('session.worker.ts must run in a worker thread');
await serveSession(parentPort, workerData as SessionWorkerData);
