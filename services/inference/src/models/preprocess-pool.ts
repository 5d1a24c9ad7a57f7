import { Worker } from 'node:worker_threads';

import { QueueFullError, ShuttingDownError } from '../batching/errors.ts';
import { ImagePreprocessError, INPUT_SIZE, type ImagePreprocessErrorCode, type PreprocessOptions } from '../preprocess/index.ts';
import type { PreprocessReply, PreprocessTask } from './preprocess.worker.ts';
import { TensorArena, type TensorSlot } from './tensor-arena.ts';

export interface PreprocessPoolOptions {
  /** Worker threads. */
  size: number;
  /** Images that may wait for a worker; more are refused with QueueFullError. */
  maxQueue: number;
  /** Images posted to one worker ahead of its replies (default 1); see prefetchDepth. */
  perWorkerDepth?: number;
  /** Tensor slots per chunk of the shared arena (default: twice the images prefetched by all workers). */
  arenaChunkSlots?: number;
  preprocess: PreprocessOptions;
  /** The worker module (default: preprocess.worker.ts); tests substitute one that wraps it. */
  workerEntry?: URL;
  onQueueDepth?(depth: number): void;
  onRejected?(requested: number): void;
  onImageDone?(durationMs: number): void;
}

interface Task {
  id: number;
  bytes: Uint8Array;
  /** Taken when the task is posted to a worker; the caller owns it once the task resolves. */
  slot?: TensorSlot;
  resolve: (slot: TensorSlot) => void;
  reject: (error: unknown) => void;
}

interface Slot {
  worker: Worker;
  /** Tasks posted to the worker, in the order it works through them. */
  tasks: Map<number, Task>;
}

const BOOTSTRAP = new URL('./worker-bootstrap.mjs', import.meta.url);
const ENTRY = new URL('./preprocess.worker.ts', import.meta.url).href;
const DURATION_SMOOTHING = 0.2;

/**
 * Images to keep posted to each worker so that, together, the workers hold one encoder batch: while
 * the encoder runs a batch they preprocess the next one without waiting for the main thread to hand
 * them each image, so batches fill and preprocessing overlaps encoding. Bounded: the memory of
 * `maxBatch` raw images beyond the queue.
 */
export function prefetchDepth(maxBatch: number, workers: number): number {
  return Math.max(1, Math.ceil(maxBatch / workers));
}

/**
 * Image preprocessing on worker threads. Decoding and resampling a camera-trap photo takes a few
 * hundred milliseconds of JavaScript; on the event loop that would stall every other request, health
 * checks included. Each worker is kept fed with up to `perWorkerDepth` images (prefetchDepth), so it
 * never waits on the main thread between images. Admission is all-or-nothing per call, like the
 * micro-batcher's; `maxQueue` bounds the images not yet posted to a worker.
 *
 * Workers write each tensor into a slot of a shared TensorArena and reply with the task id only, so a
 * preprocessed image costs the main thread no ArrayBuffer; preprocessToSlots hands the slots to the
 * caller, which releases them once it has copied the tensors.
 */
export class PreprocessPool {
  readonly maxQueue: number;
  readonly perWorkerDepth: number;
  readonly #options: PreprocessPoolOptions;
  readonly #slots: Slot[] = [];
  readonly #arena: TensorArena;
  #queue: Task[] = [];
  #nextId = 1;
  #closing = false;
  #idleWaiters: (() => void)[] = [];
  #meanImageMs = 100;

  constructor(options: PreprocessPoolOptions) {
    for (const key of ['size', 'perWorkerDepth'] as const) {
      const value = options[key] ?? 1;
      if (!Number.isInteger(value) || value < 1) throw new RangeError(`${key} must be a positive integer`);
    }
    this.#options = options;
    this.maxQueue = options.maxQueue;
    this.perWorkerDepth = options.perWorkerDepth ?? 1;
    this.#arena = new TensorArena({
      slotLength: 3 * INPUT_SIZE * INPUT_SIZE,
      chunkSlots: options.arenaChunkSlots ?? 2 * options.size * this.perWorkerDepth,
    });
    for (let i = 0; i < options.size; i++) this.#slots.push(this.#spawn());
  }

  /** Images waiting for a worker (not yet posted to one). */
  get queueDepth(): number {
    return this.#queue.length;
  }

  /** Images posted to workers and not yet answered. */
  get inFlight(): number {
    return this.#slots.reduce((sum, slot) => sum + slot.tasks.size, 0);
  }

  /** Tensor slots not held by a task or a caller; equal to slotCapacity whenever nothing is in flight. */
  get freeSlots(): number {
    return this.#arena.freeSlots;
  }

  get slotCapacity(): number {
    return this.#arena.capacity;
  }

  /** Preprocesses every image (in parallel across workers) into float32 [3, 224, 224] tensors of their own, in input order. */
  async preprocess(images: readonly Uint8Array[]): Promise<Float32Array[]> {
    const slots = await this.preprocessToSlots(images);
    return slots.map((slot) => {
      const tensor = slot.data.slice();
      slot.release();
      return tensor;
    });
  }

  /**
   * As preprocess, but the tensors stay in the pool's shared slots, in input order: the caller must
   * release every slot. If any image fails, the call rejects and releases every slot of the call itself.
   */
  preprocessToSlots(images: readonly Uint8Array[]): Promise<TensorSlot[]> {
    if (this.#closing) return Promise.reject(new ShuttingDownError('preprocess'));
    if (this.#queue.length + images.length > this.maxQueue) {
      this.#options.onRejected?.(images.length);
      const ahead = this.#queue.length + this.inFlight + images.length;
      const retryAfterSeconds = Math.max(1, Math.ceil(((ahead / this.#slots.length) * this.#meanImageMs) / 1000));
      return Promise.reject(new QueueFullError('preprocess', images.length, this.#queue.length, this.maxQueue, retryAfterSeconds));
    }
    if (images.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      const slots: TensorSlot[] = new Array(images.length);
      let pending = images.length;
      let failed = false;
      images.forEach((bytes, index) => {
        // A copy: the caller's bytes may be a slice of Node's shared Buffer pool, which must not be transferred.
        this.#queue.push({
          id: this.#nextId++,
          bytes: new Uint8Array(bytes),
          resolve: (slot) => {
            if (failed) return slot.release(); // the call has failed already: nobody will take this slot
            slots[index] = slot;
            if (--pending === 0) resolve(slots);
          },
          reject: (error) => {
            if (failed) return;
            failed = true;
            for (const slot of slots) slot?.release();
            reject(error instanceof ImagePreprocessError ? error.withIndex(index) : error);
          },
        });
      });
      this.#options.onQueueDepth?.(this.#queue.length);
      this.#dispatch();
    });
  }

  /** Refuses new work, finishes what is queued, then stops the workers. */
  async close(): Promise<void> {
    this.#closing = true;
    if (this.#queue.length > 0 || this.inFlight > 0) {
      await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    }
    await Promise.all(this.#slots.map((slot) => slot.worker.terminate()));
  }

  #spawn(): Slot {
    const worker = new Worker(BOOTSTRAP, { workerData: { entry: this.#options.workerEntry?.href ?? ENTRY }, execArgv: [] });
    const slot: Slot = { worker, tasks: new Map() };
    worker.on('message', (reply: PreprocessReply) => this.#finish(slot, reply));
    const replace = (error: Error) => {
      const index = this.#slots.indexOf(slot);
      if (index === -1) return;
      for (const task of slot.tasks.values()) {
        task.slot?.release(); // the thread is gone: nothing writes to the slot any more
        task.reject(error);
      }
      slot.tasks.clear();
      if (this.#closing && this.#queue.length === 0) {
        this.#slots.splice(index, 1);
        this.#wakeIfIdle();
      } else {
        this.#slots[index] = this.#spawn();
        this.#dispatch();
      }
    };
    worker.on('error', replace);
    worker.on('exit', (code) => {
      if (!this.#closing || slot.tasks.size > 0) replace(new Error(`preprocess worker exited with code ${code}`));
    });
    return slot;
  }

  #finish(slot: Slot, reply: PreprocessReply): void {
    const task = slot.tasks.get(reply.id);
    slot.tasks.delete(reply.id);
    if (task) {
      if (reply.ok) {
        this.#meanImageMs += DURATION_SMOOTHING * (reply.durationMs - this.#meanImageMs);
        this.#options.onImageDone?.(reply.durationMs);
        task.resolve(task.slot!);
      } else {
        task.slot!.release();
        const { error } = reply;
        task.reject(
          error.code
            ? new ImagePreprocessError(error.code as ImagePreprocessErrorCode, error.message)
            : Object.assign(new Error(error.message), { name: error.name }),
        );
      }
    }
    this.#dispatch();
  }

  #dispatch(): void {
    // Each task to the least-loaded worker, up to perWorkerDepth each.
    while (this.#queue.length > 0) {
      const slot = this.#slots.reduce((least, candidate) => (candidate.tasks.size < least.tasks.size ? candidate : least));
      if (slot.tasks.size >= this.perWorkerDepth) break;
      const task = this.#queue.shift()!;
      task.slot = this.#arena.acquire();
      slot.tasks.set(task.id, task);
      const message: PreprocessTask = { id: task.id, bytes: task.bytes, options: this.#options.preprocess, output: task.slot.data };
      slot.worker.postMessage(message, [task.bytes.buffer as ArrayBuffer]);
    }
    this.#options.onQueueDepth?.(this.#queue.length);
    this.#wakeIfIdle();
  }

  #wakeIfIdle(): void {
    if (this.#queue.length === 0 && this.inFlight === 0) {
      for (const wake of this.#idleWaiters.splice(0)) wake();
    }
  }
}
