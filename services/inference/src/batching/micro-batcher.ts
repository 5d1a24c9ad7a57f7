import { QueueFullError, ShuttingDownError } from './errors.ts';

/** Hooks for metrics and logs; every method is optional. */
export interface BatchObserver {
  queueDepthChanged?(depth: number): void;
  batchFinished?(size: number, durationMs: number, error: unknown): void;
  rejected?(requested: number): void;
}

export interface MicroBatcherOptions<I, O> {
  /** Names the queue in errors and metrics. */
  name: string;
  /** Largest batch handed to `runBatch`. */
  maxBatch: number;
  /** How long the oldest waiting item may wait for company before a partial batch runs. */
  maxWaitMs: number;
  /** Items that may wait (not counting the batch being run); more are refused with QueueFullError. */
  maxQueue: number;
  /** Runs one batch; must return one output per input, in order. */
  runBatch: (inputs: I[]) => Promise<O[]>;
  observer?: BatchObserver;
}

interface Pending<I, O> {
  input: I;
  enqueuedAt: number;
  resolve: (output: O) => void;
  reject: (error: unknown) => void;
}

const MIN_RETRY_AFTER_S = 1;
const MAX_RETRY_AFTER_S = 60;
// Weight of the newest batch in the running average of batch durations used for Retry-After hints.
const DURATION_SMOOTHING = 0.2;

/**
 * Collects items from concurrent callers into batches of up to `maxBatch`, waiting at most `maxWaitMs`
 * for a batch to fill, and runs one batch at a time (the encoder already uses every core for one batch).
 * The queue is bounded: a submission that does not fit is refused whole, so memory stays bounded
 * and a caller never gets half of its items embedded.
 */
export class MicroBatcher<I, O> {
  readonly name: string;
  readonly maxBatch: number;
  readonly maxWaitMs: number;
  readonly maxQueue: number;
  readonly #runBatch: (inputs: I[]) => Promise<O[]>;
  readonly #observer: BatchObserver;
  #queue: Pending<I, O>[] = [];
  #running = false;
  #closing = false;
  #timer: NodeJS.Timeout | undefined;
  #idleWaiters: (() => void)[] = [];
  #meanBatchMs: number | undefined;

  constructor(options: MicroBatcherOptions<I, O>) {
    for (const key of ['maxBatch', 'maxQueue'] as const) {
      if (!Number.isInteger(options[key]) || options[key] < 1) throw new RangeError(`${key} must be a positive integer`);
    }
    if (!(options.maxWaitMs >= 0)) throw new RangeError('maxWaitMs must be >= 0');
    this.name = options.name;
    this.maxBatch = options.maxBatch;
    this.maxWaitMs = options.maxWaitMs;
    this.maxQueue = options.maxQueue;
    this.#runBatch = options.runBatch;
    this.#observer = options.observer ?? {};
  }

  /** Items waiting for a batch. */
  get queueDepth(): number {
    return this.#queue.length;
  }

  get closing(): boolean {
    return this.#closing;
  }

  hasRoomFor(count: number): boolean {
    return this.#queue.length + count <= this.maxQueue;
  }

  /** Seconds after which a refused caller may reasonably try again. */
  retryAfterSeconds(extraItems = 0): number {
    const batchesAhead = Math.ceil((this.#queue.length + extraItems) / this.maxBatch) + (this.#running ? 1 : 0);
    const batchMs = this.#meanBatchMs ?? this.maxWaitMs;
    const seconds = Math.ceil((batchesAhead * batchMs) / 1000);
    return Math.min(MAX_RETRY_AFTER_S, Math.max(MIN_RETRY_AFTER_S, seconds));
  }

  /** Throws QueueFullError or ShuttingDownError when `count` items would be refused now. */
  assertAdmissible(count: number): void {
    if (this.#closing) throw new ShuttingDownError(this.name);
    if (!this.hasRoomFor(count)) {
      this.#observer.rejected?.(count);
      throw new QueueFullError(this.name, count, this.#queue.length, this.maxQueue, this.retryAfterSeconds(count));
    }
  }

  /** Queues every input (or none) and resolves with their outputs in input order. */
  submit(inputs: readonly I[]): Promise<O[]> {
    try {
      this.assertAdmissible(inputs.length);
    } catch (error) {
      return Promise.reject(error);
    }
    if (inputs.length === 0) return Promise.resolve([]);
    const enqueuedAt = performance.now();
    const outputs = inputs.map(
      (input) => new Promise<O>((resolve, reject) => this.#queue.push({ input, enqueuedAt, resolve, reject })),
    );
    this.#observer.queueDepthChanged?.(this.#queue.length);
    this.#schedule();
    return Promise.all(outputs);
  }

  /** Refuses new work, runs everything already queued without waiting for batches to fill, resolves when idle. */
  drain(): Promise<void> {
    this.#closing = true;
    this.#schedule();
    if (!this.#running && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #schedule(): void {
    if (this.#running) return;
    if (this.#queue.length === 0) {
      this.#clearTimer();
      for (const wake of this.#idleWaiters.splice(0)) wake();
      return;
    }
    const waitedMs = performance.now() - this.#queue[0].enqueuedAt;
    if (this.#closing || this.#queue.length >= this.maxBatch || waitedMs >= this.maxWaitMs) {
      this.#clearTimer();
      void this.#runNext();
    } else if (!this.#timer) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#schedule();
      }, this.maxWaitMs - waitedMs);
    }
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #runNext(): Promise<void> {
    this.#running = true;
    const batch = this.#queue.splice(0, this.maxBatch);
    this.#observer.queueDepthChanged?.(this.#queue.length);
    const startedAt = performance.now();
    let failure: unknown;
    try {
      const outputs = await this.#runBatch(batch.map((pending) => pending.input));
      if (outputs.length !== batch.length) {
        throw new Error(`${this.name} batch returned ${outputs.length} outputs for ${batch.length} inputs`);
      }
      batch.forEach((pending, i) => pending.resolve(outputs[i]));
    } catch (error) {
      failure = error;
      for (const pending of batch) pending.reject(error);
    } finally {
      const durationMs = performance.now() - startedAt;
      this.#meanBatchMs =
        this.#meanBatchMs === undefined ? durationMs : this.#meanBatchMs + DURATION_SMOOTHING * (durationMs - this.#meanBatchMs);
      this.#observer.batchFinished?.(batch.length, durationMs, failure);
      this.#running = false;
      this.#schedule();
    }
  }
}
