// The worker-thread side of WorkerSession: creates one ONNX Runtime session and answers its requests.
import type { MessagePort } from 'node:worker_threads';

import * as ort from 'onnxruntime-node';

import { SharedInputStaging } from './shared-input-staging.ts';
import {
  toWireError,
  transferableBuffers,
  type SessionReply,
  type SessionRequest,
  type SessionWorkerData,
  type WireTensor,
} from './session-worker-protocol.ts';

export type CreateSession = (modelPath: string, options: ort.InferenceSession.SessionOptions) => Promise<ort.InferenceSession>;

const createOrtSession: CreateSession = (modelPath, options) => ort.InferenceSession.create(modelPath, options);

function send(port: MessagePort, reply: SessionReply, tensors: readonly WireTensor[] = []): void {
  try {
    port.postMessage(reply, transferableBuffers(tensors));
  } catch (error) {
    // A buffer the runtime will not detach (e.g. external memory) is copied instead.
    if ((error as Error).name !== 'DataCloneError') throw error;
    port.postMessage(reply);
  }
}

async function run(
  session: ort.InferenceSession,
  staging: SharedInputStaging,
  request: Extract<SessionRequest, { type: 'run' }>,
): Promise<Record<string, WireTensor>> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, { type, data, dims }] of Object.entries(request.feeds)) {
    feeds[name] = new ort.Tensor(type, staging.stage(name, data) as ort.Tensor.DataTypeMap[typeof type], dims);
  }
  const results = request.fetches ? await session.run(feeds, request.fetches, request.options) : await session.run(feeds, request.options);
  const outputs: Record<string, WireTensor> = {};
  for (const [name, value] of Object.entries(results)) {
    const tensor = value as ort.Tensor;
    outputs[name] = { type: tensor.type, data: tensor.data, dims: tensor.dims };
  }
  return outputs;
}

async function handle(session: ort.InferenceSession, staging: SharedInputStaging, port: MessagePort, request: SessionRequest): Promise<void> {
  switch (request.type) {
    case 'run':
      try {
        const outputs = await run(session, staging, request);
        send(port, { type: 'result', id: request.id, outputs }, Object.values(outputs));
      } catch (error) {
        send(port, { type: 'run-failed', id: request.id, error: toWireError(error) });
      }
      return;
    case 'release':
      try {
        await session.release();
        send(port, { type: 'released', id: request.id });
      } catch (error) {
        send(port, { type: 'released', id: request.id, error: toWireError(error) });
      }
      return;
    case 'startProfiling':
      return session.startProfiling();
    case 'endProfiling':
      return session.endProfiling();
  }
}

/** A failure outside a run or release is a bug here: end the thread, so WorkerSession fails its runs and starts a new one. */
function endThread(error: unknown): void {
  setImmediate(() => {
    throw error;
  });
}

/**
 * Creates the session `data` names and serves it on `port` until released. Requests are handled one
 * at a time, in the order they arrive: onnxruntime-node's `run` occupies this thread for the whole
 * batch anyway, and a release must never overtake a run. `createSession` is replaced by test entries.
 */
export async function serveSession(port: MessagePort, data: SessionWorkerData, createSession: CreateSession = createOrtSession): Promise<void> {
  let session: ort.InferenceSession;
  try {
    session = await createSession(data.modelPath, data.options);
  } catch (error) {
    send(port, { type: 'create-failed', error: toWireError(error) });
    return;
  }
  const { inputNames, outputNames, inputMetadata, outputMetadata } = session;
  send(port, { type: 'ready', inputNames, outputNames, inputMetadata, outputMetadata });

  const staging = new SharedInputStaging();
  let previous = Promise.resolve();
  port.on('message', (request: SessionRequest) => {
    previous = previous.then(() => handle(session, staging, port, request)).catch(endThread);
  });
}
