import * as ort from 'onnxruntime-node';

import type { SessionFactory } from './create-session.ts';
import { SessionWorkerError } from './errors.ts';
import { SESSION_WORKER_ENTRY, SessionThread, type SessionThreadSpec } from './session-thread.ts';
import type { WireTensor } from './session-worker-protocol.ts';

/**
 * `ready`: runs go to the worker. `restarting`: the worker died and a new one is creating the session;
 * runs wait for it. `failed`: re-creating the session failed; the next run tries again. `released`: closed.
 */
export type WorkerSessionState = 'ready' | 'restarting' | 'failed' | 'released';

export type WorkerSessionListener = (state: WorkerSessionState, error: SessionWorkerError | undefined) => void;

export interface WorkerSessionOptions {
  /** The worker module (default: the product's session worker); tests start one that wraps the session. */
  entry?: URL;
  /** Passed to a substituted entry as `workerData.entryData`. */
  entryData?: unknown;
}

/**
 * An ONNX Runtime session on its own worker thread, behind the InferenceSession interface.
 *
 * onnxruntime-node runs `session.run` synchronously on the thread that calls it (its backend calls the
 * native run inside a setImmediate), so on the main thread one batch blocks the event loop for its
 * whole duration: health checks, metrics and 429 admission included (≈ 20 s for a ViT-L/14 batch of
 * 16 on a CPU). Here the main thread only posts the input and receives the output; tensors cross the
 * thread boundary by transferring their buffers, so `run` takes over the feeds' buffers — except
 * feeds in a SharedArrayBuffer, which stay the caller's and are read in place (the thread copies them
 * into an input buffer of its own, as onnxruntime-node refuses shared memory; see SharedInputStaging).
 * Such a buffer must not be changed until `run` settles.
 *
 * The session is created in the worker with exactly the path and options given, so provider choice,
 * thread counts and the file chosen by precision stay the caller's (createEncoderSession's).
 * If the worker dies, the runs it held fail with SessionWorkerError WORKER_EXITED and a new worker
 * re-creates the session; `state` and `onStateChange` report it.
 */
export class WorkerSession implements ort.InferenceSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly ort.InferenceSession.ValueMetadata[];
  readonly outputMetadata: readonly ort.InferenceSession.ValueMetadata[];
  readonly #spec: SessionThreadSpec;
  readonly #listeners: WorkerSessionListener[] = [];
  #thread: SessionThread | undefined;
  #restarting: Promise<SessionThread> | undefined;
  #state: WorkerSessionState = 'ready';
  #failure: SessionWorkerError | undefined;

  static async open(modelPath: string, options: ort.InferenceSession.SessionOptions, workerOptions: WorkerSessionOptions = {}): Promise<WorkerSession> {
    const spec: SessionThreadSpec = { modelPath, options, entry: workerOptions.entry ?? SESSION_WORKER_ENTRY, entryData: workerOptions.entryData };
    return new WorkerSession(spec, await SessionThread.start(spec));
  }

  private constructor(spec: SessionThreadSpec, thread: SessionThread) {
    this.#spec = spec;
    ({ inputNames: this.inputNames, outputNames: this.outputNames, inputMetadata: this.inputMetadata, outputMetadata: this.outputMetadata } =
      thread.metadata);
    this.#adopt(thread);
  }

  get modelPath(): string {
    return this.#spec.modelPath;
  }

  get state(): WorkerSessionState {
    return this.#state;
  }

  /** Why the session is `restarting` or `failed`. */
  get failure(): SessionWorkerError | undefined {
    return this.#failure;
  }

  onStateChange(listener: WorkerSessionListener): void {
    this.#listeners.push(listener);
  }

  async run(
    feeds: ort.InferenceSession.FeedsType,
    fetchesOrOptions?: ort.InferenceSession.FetchesType | ort.InferenceSession.RunOptions,
    runOptions?: ort.InferenceSession.RunOptions,
  ): Promise<ort.InferenceSession.ReturnType> {
    const { fetches, options } = this.#runArguments(fetchesOrOptions, runOptions);
    const wireFeeds: Record<string, WireTensor> = {};
    for (const [name, value] of Object.entries(feeds)) {
      const tensor = value as ort.Tensor;
      wireFeeds[name] = { type: tensor.type, data: tensor.data, dims: tensor.dims };
    }
    const thread = await this.#usableThread();
    const outputs = await thread.run(wireFeeds, fetches, options);
    const results: Record<string, ort.Tensor> = {};
    for (const [name, { type, data, dims }] of Object.entries(outputs)) {
      results[name] = new ort.Tensor(type, data as ort.Tensor.DataTypeMap[typeof type], dims);
    }
    return results;
  }

  /** Releases the session and stops its worker (waiting for a restart in progress, so no thread is left behind). */
  async release(): Promise<void> {
    if (this.#state === 'released') return;
    this.#setState('released', undefined);
    const thread = this.#thread ?? (await this.#restarting?.catch(() => undefined));
    this.#thread = undefined;
    await thread?.release();
  }

  startProfiling(): void {
    this.#thread?.post({ type: 'startProfiling' });
  }

  endProfiling(): void {
    this.#thread?.post({ type: 'endProfiling' });
  }

  #runArguments(
    fetchesOrOptions: ort.InferenceSession.FetchesType | ort.InferenceSession.RunOptions | undefined,
    runOptions: ort.InferenceSession.RunOptions | undefined,
  ): { fetches?: readonly string[]; options?: ort.InferenceSession.RunOptions } {
    if (Array.isArray(fetchesOrOptions)) return { fetches: fetchesOrOptions as readonly string[], options: runOptions };
    if (fetchesOrOptions && Object.keys(fetchesOrOptions).some((key) => this.outputNames.includes(key))) {
      throw new TypeError('WorkerSession.run takes fetches as a list of output names; pre-allocated outputs cannot cross threads');
    }
    return { options: fetchesOrOptions as ort.InferenceSession.RunOptions | undefined };
  }

  async #usableThread(): Promise<SessionThread> {
    if (this.#state === 'released') {
      throw new SessionWorkerError('SESSION_RELEASED', this.modelPath, `the session of ${this.modelPath} was released`);
    }
    if (this.#thread) return this.#thread;
    // `failed`: try again now, for this run (the failure may have been passing, e.g. memory).
    return this.#restarting ?? this.#restart(this.#failure!);
  }

  #adopt(thread: SessionThread): void {
    this.#thread = thread;
    thread.onUnexpectedExit((error) => {
      this.#thread = undefined;
      void this.#restart(error).catch(() => undefined); // reported through the state
    });
  }

  #restart(cause: SessionWorkerError): Promise<SessionThread> {
    this.#failure = cause;
    this.#setState('restarting', cause);
    const restarting = SessionThread.start(this.#spec).then(
      (thread) => {
        this.#restarting = undefined;
        // Released meanwhile: release() takes this thread and stops it.
        if (this.#state === 'released') return thread;
        this.#adopt(thread);
        this.#failure = undefined;
        this.#setState('ready', undefined);
        return thread;
      },
      (error: SessionWorkerError) => {
        this.#restarting = undefined;
        this.#failure = error;
        if (this.#state !== 'released') this.#setState('failed', error);
        throw error;
      },
    );
    this.#restarting = restarting;
    return restarting;
  }

  #setState(state: WorkerSessionState, error: SessionWorkerError | undefined): void {
    this.#state = state;
    for (const listener of this.#listeners) listener(state, error);
  }
}

/** Whether `session` runs on a worker thread of its own (and so takes feeds in shared memory). */
export function runsOnWorkerThread(session: ort.InferenceSession): session is WorkerSession {
  return session instanceof WorkerSession;
}

/** The SessionFactory that puts each session on its own worker thread (the service's default). */
export const openWorkerSession: SessionFactory = (modelPath, options) => WorkerSession.open(modelPath, options);
