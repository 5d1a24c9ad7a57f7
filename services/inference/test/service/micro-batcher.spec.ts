import { describe, expect, it } from 'vitest';

import { QueueFullError, ShuttingDownError } from '../../src/batching/errors.ts';
import { MicroBatcher } from '../../src/batching/micro-batcher.ts';

/** A batch runner that records batch sizes and can hold batches until released. */
function recorder({ held = false } = {}) {
  const batches: number[][] = [];
  let release: () => void = () => undefined;
  let gate = held ? new Promise<void>((resolve) => (release = resolve)) : Promise.resolve();
  return {
    batches,
    release: () => {
      release();
      gate = Promise.resolve();
    },
    runBatch: async (inputs: number[]) => {
      batches.push([...inputs]);
      await gate;
      return inputs.map((n) => n * 10);
    },
  };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('MicroBatcher', () => {
  it('groups concurrent submissions into one batch and routes each output to its caller', async () => {
    const run = recorder();
    const batcher = new MicroBatcher({ name: 'test', maxBatch: 8, maxWaitMs: 60_000, maxQueue: 100, runBatch: run.runBatch });
    const results = await Promise.all([batcher.submit([1, 2]), batcher.submit([3]), batcher.submit([4, 5, 6, 7, 8])]);
    expect(results).toEqual([[10, 20], [30], [40, 50, 60, 70, 80]]);
    expect(run.batches).toEqual([[1, 2, 3, 4, 5, 6, 7, 8]]);
  });

  it('splits at maxBatch, and runs a partial batch after maxWaitMs', async () => {
    const run = recorder();
    const batcher = new MicroBatcher({ name: 'test', maxBatch: 3, maxWaitMs: 1, maxQueue: 100, runBatch: run.runBatch });
    expect(await batcher.submit([1, 2, 3, 4, 5, 6, 7])).toEqual([10, 20, 30, 40, 50, 60, 70]);
    expect(run.batches).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
  });

  it('runs one batch at a time; what arrives meanwhile forms the next batch', async () => {
    const run = recorder({ held: true });
    const batcher = new MicroBatcher({ name: 'test', maxBatch: 4, maxWaitMs: 0, maxQueue: 100, runBatch: run.runBatch });
    const first = batcher.submit([1]);
    await flush();
    const later = [batcher.submit([2]), batcher.submit([3, 4])];
    await flush();
    expect(run.batches).toEqual([[1]]);
    expect(batcher.queueDepth).toBe(3);
    run.release();
    expect(await first).toEqual([10]);
    expect(await Promise.all(later)).toEqual([[20], [30, 40]]);
    expect(run.batches).toEqual([[1], [2, 3, 4]]);
  });

  it('refuses a submission that does not fit, whole, with a retry hint, and loses nothing accepted', async () => {
    const run = recorder({ held: true });
    const rejected: number[] = [];
    const batcher = new MicroBatcher({
      name: 'test',
      maxBatch: 1,
      maxWaitMs: 0,
      maxQueue: 3,
      runBatch: run.runBatch,
      observer: { rejected: (n) => rejected.push(n) },
    });
    const running = batcher.submit([1]);
    await flush();
    const queued = batcher.submit([2, 3]);
    const error = await batcher.submit([4, 5]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueueFullError);
    expect(error).toMatchObject({ queue: 'test', requested: 2, depth: 2, capacity: 3 });
    expect((error as QueueFullError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(batcher.queueDepth).toBe(2);
    const fits = batcher.submit([6]);
    expect(rejected).toEqual([2]);
    run.release();
    expect(await Promise.all([running, queued, fits])).toEqual([[10], [20, 30], [60]]);
  });

  it('fails only the callers of a failed batch', async () => {
    let calls = 0;
    const batcher = new MicroBatcher({
      name: 'test',
      maxBatch: 2,
      maxWaitMs: 60_000,
      maxQueue: 10,
      runBatch: async (inputs: number[]) => {
        if (calls++ === 0) throw new Error('encoder crashed');
        return inputs;
      },
    });
    const [a, b] = [batcher.submit([1, 2]), batcher.submit([3, 4])];
    await expect(a).rejects.toThrow('encoder crashed');
    await expect(b).resolves.toEqual([3, 4]);
  });

  it('rejects a wrong number of outputs instead of misrouting them', async () => {
    const batcher = new MicroBatcher({ name: 'test', maxBatch: 2, maxWaitMs: 0, maxQueue: 10, runBatch: async () => [1] });
    await expect(batcher.submit([1, 2])).rejects.toThrow(/returned 1 outputs for 2 inputs/);
  });

  it('drain runs queued work at once, without waiting for a full batch, then refuses new work', async () => {
    const run = recorder();
    const batcher = new MicroBatcher({ name: 'test', maxBatch: 10, maxWaitMs: 3_600_000, maxQueue: 10, runBatch: run.runBatch });
    const pending = batcher.submit([1, 2]);
    await flush();
    expect(run.batches).toEqual([]);
    await batcher.drain();
    expect(await pending).toEqual([10, 20]);
    await expect(batcher.submit([3])).rejects.toBeInstanceOf(ShuttingDownError);
  });
});
