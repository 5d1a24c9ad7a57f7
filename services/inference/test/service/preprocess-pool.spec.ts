// The preprocessing pool keeps several images posted to each worker (bounded), so workers never wait for
// the main thread between images; the queue bound applies to the images not yet posted.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { QueueFullError } from '../../src/batching/errors.ts';
import { prefetchDepth, PreprocessPool } from '../../src/models/preprocess-pool.ts';
import { preprocessImage, type PreprocessOptions } from '../../src/preprocess/index.ts';
import { distinctPhotos, eventually, maxAbsDifference } from './support.ts';

const OPTIONS: PreprocessOptions = { mode: 'open_clip' };

let photos: Buffer[];
beforeAll(async () => {
  photos = await distinctPhotos(6);
});

let pool: PreprocessPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

describe('PreprocessPool', () => {
  it('posts up to perWorkerDepth images to each worker at once and returns every tensor in input order', async () => {
    pool = new PreprocessPool({ size: 2, perWorkerDepth: 2, maxQueue: 8, preprocess: OPTIONS });
    const done = pool.preprocess(photos);
    // Posting is synchronous: 2 workers × 2 images are with the workers, the other 2 wait.
    expect(pool.inFlight).toBe(4);
    expect(pool.queueDepth).toBe(2);

    const tensors = await done;
    expect(pool.inFlight).toBe(0);
    expect(pool.queueDepth).toBe(0);
    for (let i = 0; i < photos.length; i++) {
      expect(maxAbsDifference(tensors[i], (await preprocessImage(photos[i], OPTIONS)).data)).toBe(0);
    }
  });

  it('bounds the images waiting beyond the workers by maxQueue, refusing a call whole', async () => {
    pool = new PreprocessPool({ size: 1, perWorkerDepth: 2, maxQueue: 4, preprocess: OPTIONS });
    const first = pool.preprocess(photos.slice(0, 4));
    expect([pool.inFlight, pool.queueDepth]).toEqual([2, 2]);
    // 2 waiting + 3 more would exceed 4: refused whole, nothing of it queued.
    await expect(pool.preprocess(photos.slice(0, 3))).rejects.toBeInstanceOf(QueueFullError);
    expect([pool.inFlight, pool.queueDepth]).toEqual([2, 2]);
    const second = pool.preprocess(photos.slice(4, 6));
    expect([pool.inFlight, pool.queueDepth]).toEqual([2, 4]);
    expect((await Promise.all([first, second])).flat()).toHaveLength(6);
  });

  it('refuses a depth that is not a positive integer', () => {
    expect(() => new PreprocessPool({ size: 1, perWorkerDepth: 0, maxQueue: 1, preprocess: OPTIONS })).toThrow(RangeError);
  });
});

describe('PreprocessPool tensor slots', () => {
  it('leaves each tensor in a shared slot, identical to preprocessImage, until the caller releases it', async () => {
    pool = new PreprocessPool({ size: 2, perWorkerDepth: 2, maxQueue: 8, arenaChunkSlots: 4, preprocess: OPTIONS });
    const slots = await pool.preprocessToSlots(photos);
    expect(pool.slotCapacity).toBe(8); // 6 held: the arena grew by a chunk
    expect(pool.freeSlots).toBe(2);
    for (let i = 0; i < photos.length; i++) {
      expect(slots[i]!.data.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(maxAbsDifference(slots[i]!.data, (await preprocessImage(photos[i]!, OPTIONS)).data)).toBe(0);
    }
    for (const slot of slots) slot.release();
    expect(pool.freeSlots).toBe(pool.slotCapacity);
    // preprocess() copies out and releases by itself.
    await pool.preprocess(photos.slice(0, 3));
    expect(pool.freeSlots).toBe(pool.slotCapacity);
  });

  it('releases every slot of a call that fails, including images that finish after the failure', async () => {
    pool = new PreprocessPool({ size: 2, perWorkerDepth: 2, maxQueue: 64, arenaChunkSlots: 2, preprocess: OPTIONS });
    const garbage = Buffer.from('not an image');
    for (let round = 0; round < 10; round++) {
      // The bad image fails fast; the photos around it are still being preprocessed when the call rejects.
      await expect(pool.preprocessToSlots([photos[0]!, garbage, ...photos.slice(1)])).rejects.toMatchObject({ code: 'UNSUPPORTED_IMAGE', index: 1 });
    }
    await expect(pool.preprocessToSlots([photos[0]!, photos[1]!.subarray(0, 2000)])).rejects.toMatchObject({ index: 1 });
    await eventually(() => pool!.inFlight === 0);
    expect(pool.freeSlots).toBe(pool.slotCapacity);
    const slots = await pool.preprocessToSlots(photos);
    expect(slots).toHaveLength(photos.length);
    for (const slot of slots) slot.release();
    expect(pool.freeSlots).toBe(pool.slotCapacity);
  });
});

describe('PreprocessPool when a worker thread dies', () => {
  it('fails the images the thread held, gives their slots back and serves on with a new thread', async () => {
    const workerEntry = new URL('./crashing-preprocess/worker.ts', import.meta.url);
    pool = new PreprocessPool({ size: 1, perWorkerDepth: 4, maxQueue: 16, arenaChunkSlots: 2, preprocess: OPTIONS, workerEntry });
    const crash = Buffer.concat([Buffer.from('CRASH'), photos[0]!]);
    for (let round = 0; round < 3; round++) {
      await expect(pool.preprocessToSlots([photos[0]!, crash, photos[1]!, photos[2]!])).rejects.toThrow(/exited with code 3/);
    }
    await eventually(() => pool!.inFlight === 0);
    expect(pool.freeSlots).toBe(pool.slotCapacity);
    const slots = await pool.preprocessToSlots(photos.slice(0, 3));
    expect(maxAbsDifference(slots[2]!.data, (await preprocessImage(photos[2]!, OPTIONS)).data)).toBe(0);
    for (const slot of slots) slot.release();
    expect(pool.freeSlots).toBe(pool.slotCapacity);
  });
});

describe('prefetchDepth', () => {
  it('gives the workers one encoder batch between them, at least one image each', () => {
    expect(prefetchDepth(16, 2)).toBe(8);
    expect(prefetchDepth(16, 3)).toBe(6);
    expect(prefetchDepth(1, 4)).toBe(1);
  });
});
