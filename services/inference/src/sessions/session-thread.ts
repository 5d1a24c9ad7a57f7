import { Worker } from 'node:worker_threads';

import type * as ort from 'onnxruntime-node';

import { SessionWorkerError } from './errors.ts';
import {
  transferableBuffers,
  type SessionMetadata,
  type SessionReply,
  type SessionRequest,
  type SessionWorkerData,
  type WireTensor,
} from './session-worker-protocol.ts';

const BOOTSTRAP = new URL('../models/worker-bootstrap.mjs', import.meta.url);
/** The product's session worker; tests may start another entry that wraps the session (see SessionThreadSpec). */
export const SESSION_WORKER_ENTRY = new URL('./session.worker.ts', import.meta.url);

export interface SessionThreadSpec {
  modelPath: string;
  options: ort.InferenceSession.SessionOptions;
  /** The worker module, normally SESSION_WORKER_ENTRY. */
  entry: URL;
  entryData?: unknown;
}

type Settled = Extract<SessionReply, { id: number }>;

interface Pending {
  resolve: (reply: Settled) => void;
  reject: (error: SessionWorkerError) => void;
}

/**
 * One worker thread holding one ONNX Runtime session. It lives as long as its thread: when the thread
 * dies, every pending call is rejected with WORKER_EXITED and `onUnexpectedExit` is told (WorkerSession
 * then starts a new thread).
 */
export class SessionThread {
  readonly metadata: SessionMetadata;
  readonly #worker: Worker;
  readonly #modelPath: string;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #releasing = false;
  #dead: SessionWorkerError | undefined;
  #crash: Error | undefined;
  #onUnexpectedExit: ((error: SessionWorkerError) => void) | undefined;

  /** Starts the worker and creates the session in it; rejects with SESSION_CREATE_FAILED (and stops the worker) if that fails. */
  static start(spec: SessionThreadSpec): Promise<SessionThread> {
    const failed = (reason: string, cause?: unknown) =>
      new SessionWorkerError('SESSION_CREATE_FAILED', spec.modelPath, `creating the session of ${spec.modelPath} failed: ${reason}`, { cause });
    const data: SessionWorkerData = { entry: spec.entry.href, modelPath: spec.modelPath, options: spec.options, entryData: spec.entryData };
    let worker: Worker;
    try {
      worker = new Worker(BOOTSTRAP, { workerData: data, execArgv: [] });
    } catch (error) {
      return Promise.reject(failed(`no worker thread could be started (${(error as Error).message})`, error));
    }
    return new Promise((resolve, reject) => {
      // Not removeAllListeners(): Worker keeps its message port referenced through listeners of its own.
      const stopListening = () => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      const fail = (error: SessionWorkerError) => {
        stopListening();
        void worker.terminate();
        reject(error);
      };
      const onMessage = (reply: SessionReply) => {
        if (reply.type === 'create-failed') return fail(failed(reply.error.message));
        if (reply.type !== 'ready') return;
        stopListening(); // the thread's own listeners take over
        resolve(new SessionThread(worker, spec.modelPath, reply));
      };
      const onError = (error: Error) => fail(failed(error.message, error));
      const onExit = (code: number) => fail(failed(`its worker thread exited with code ${code}`));
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
    });
  }

  private constructor(worker: Worker, modelPath: string, metadata: SessionMetadata) {
    this.#worker = worker;
    this.#modelPath = modelPath;
    const { inputNames, outputNames, inputMetadata, outputMetadata } = metadata;
    this.metadata = { inputNames, outputNames, inputMetadata, outputMetadata };
    worker.on('message', (reply: SessionReply) => this.#settle(reply));
    // An uncaught exception in the worker: 'error' comes first, then 'exit'.
    worker.on('error', (error) => (this.#crash = error));
    worker.on('exit', (code) => this.#exited(code));
  }

  onUnexpectedExit(listener: (error: SessionWorkerError) => void): void {
    this.#onUnexpectedExit = listener;
  }

  /** Runs the session; the feeds' whole buffers are transferred to the worker (unusable here afterwards). */
  run(
    feeds: Record<string, WireTensor>,
    fetches: readonly string[] | undefined,
    options: ort.InferenceSession.RunOptions | undefined,
  ): Promise<Record<string, WireTensor>> {
    return this.#call((id) => ({ type: 'run', id, feeds, fetches, options }), Object.values(feeds)).then((reply) => {
      if (reply.type === 'result') return reply.outputs;
      if (reply.type === 'run-failed') {
        throw new SessionWorkerError('RUN_FAILED', this.#modelPath, reply.error.message);
      }
      throw new Error(`unexpected reply ${reply.type} to a run`);
    });
  }

  post(request: Extract<SessionRequest, { type: 'startProfiling' | 'endProfiling' }>): void {
    if (!this.#dead) this.#worker.postMessage(request);
  }

  /** Releases the session (after any run already sent), then stops the thread. */
  async release(): Promise<void> {
    if (this.#dead || this.#releasing) return;
    this.#releasing = true;
    try {
      const reply = await this.#call((id) => ({ type: 'release', id }));
      if (reply.type === 'released' && reply.error) throw Object.assign(new Error(reply.error.message), { name: reply.error.name });
    } finally {
      await this.#worker.terminate();
    }
  }

  #call(request: (id: number) => SessionRequest, tensors: WireTensor[] = []): Promise<Settled> {
    if (this.#dead) return Promise.reject(this.#dead);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage(request(id), transferableBuffers(tensors));
    });
  }

  #settle(reply: SessionReply): void {
    if (!('id' in reply)) return;
    const pending = this.#pending.get(reply.id);
    this.#pending.delete(reply.id);
    pending?.resolve(reply);
  }

  #exited(code: number): void {
    const crash = this.#crash;
    this.#dead = this.#releasing
      ? new SessionWorkerError('SESSION_RELEASED', this.#modelPath, `the session of ${this.#modelPath} was released`)
      : new SessionWorkerError(
          'WORKER_EXITED',
          this.#modelPath,
          `the worker thread of the session of ${this.#modelPath} exited (code ${code})${crash ? `: ${crash.message}` : ''}`,
          { cause: crash },
        );
    for (const pending of this.#pending.values()) pending.reject(this.#dead);
    this.#pending.clear();
    if (!this.#releasing) this.#onUnexpectedExit?.(this.#dead);
  }
}
