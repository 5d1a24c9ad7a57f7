// ImageEmbedder takes its tensors from the preprocessing pool's shared slots and builds each batch in a
// recycled input buffer (shared memory for a worker-thread session): the embeddings must be bit-identical
// to concatenating plain tensors, and every slot must come back on every path, or the arena would grow
// without bound.
import * as ort from 'onnxruntime-node';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { QueueFullError, ShuttingDownError } from '../../src/batching/errors.ts';
import { l2NormalisedRows } from '../../src/models/embedding-math.ts';
import { EncoderUnavailableError } from '../../src/models/errors.ts';
import { ImageEmbedder, type BatchSettings } from '../../src/models/image-embedder.ts';
import { loadModelPackage, type ModelPackage } from '../../src/models/model-package.ts';
import { PreprocessPool } from '../../src/models/preprocess-pool.ts';
import { preprocessImage } from '../../src/preprocess/index.ts';
import { WorkerSession } from '../../src/sessions/worker-session.ts';
import { distinctPhotos, eventually, RunGate, STANDIN_DIR } from './support.ts';

let pkg: ModelPackage;
let modelPath: string;
let photos: Buffer[];
beforeAll(async () => {
  pkg = await loadModelPackage(STANDIN_DIR);
  modelPath = pkg.encoderPath('image_encoder', 'fp32')!;
  photos = await distinctPhotos(4);
});

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function embedderOn(session: ort.InferenceSession, batch: BatchSettings): { embedder: ImageEmbedder; pool: PreprocessPool } {
  const pool = new PreprocessPool({ size: 2, perWorkerDepth: 2, maxQueue: 16, arenaChunkSlots: 2, preprocess: { mode: pkg.manifest.preprocessing.mode } });
  const { imageSize, embeddingDim, io } = pkg.manifest;
  const embedder = new ImageEmbedder({ session, io: io.image, imageSize, embeddingDim, pool, batch });
  cleanups.push(async () => {
    await embedder.close();
    await pool.close();
    await session.release();
  });
  return { embedder, pool };
}

function bytesOf(rows: readonly Float32Array[]): Buffer {
  return Buffer.concat(rows.map((row) => Buffer.from(row.buffer, row.byteOffset, row.byteLength)));
}

describe('ImageEmbedder over shared tensor slots', () => {
  it('gives bit-identical embeddings on a worker-thread session and on this thread, batch after batch', async () => {
    // What ImageEmbedder did before: concatenate plain tensors into a new buffer, one run, normalise.
    const direct = await ort.InferenceSession.create(modelPath, { executionProviders: ['cpu'] });
    cleanups.push(() => direct.release());
    const { imageSize, embeddingDim, io } = pkg.manifest;
    const plane = 3 * imageSize * imageSize;
    const pixels = new Float32Array(photos.length * plane);
    for (let i = 0; i < photos.length; i++) pixels.set((await preprocessImage(photos[i]!, { mode: pkg.manifest.preprocessing.mode })).data, i * plane);
    const output = await direct.run({ [io.image.input]: new ort.Tensor('float32', pixels, [photos.length, 3, imageSize, imageSize]) });
    const expected = bytesOf(l2NormalisedRows(output[io.image.output]!.data as Float32Array, photos.length, embeddingDim));

    const batch = { maxBatch: photos.length, maxWaitMs: 10_000, maxQueue: 16 };
    const onWorker = embedderOn(await WorkerSession.open(modelPath, { executionProviders: ['cpu'] }), batch);
    const onThisThread = embedderOn(await ort.InferenceSession.create(modelPath, { executionProviders: ['cpu'] }), batch);
    for (let round = 0; round < 2; round++) {
      expect(bytesOf(await onWorker.embedder.embed(photos)).equals(expected)).toBe(true);
      expect(bytesOf(await onThisThread.embedder.embed(photos)).equals(expected)).toBe(true);
    }
    for (const { pool } of [onWorker, onThisThread]) expect(pool.freeSlots).toBe(pool.slotCapacity);
  });

  it('releases the slots of calls refused by the batcher, failed in preprocessing or closed on, and keeps serving', async () => {
    const gate = new RunGate('image_encoder');
    const session = await gate.factory()(modelPath, { executionProviders: ['cpu'] });
    const { embedder, pool } = embedderOn(session, { maxBatch: 1, maxWaitMs: 0, maxQueue: 1 });
    cleanups.push(async () => gate.open()); // runs before the embedder closes, should an expectation fail

    const first = embedder.embed([photos[0]!]);
    await gate.started(); // one batch held in the encoder, its slot already copied and released
    await expect(embedder.embed([Buffer.from('not an image')])).rejects.toMatchObject({ code: 'UNSUPPORTED_IMAGE', index: 0 });
    expect(pool.freeSlots).toBe(pool.slotCapacity);

    // Both pass admission while the batcher's queue is empty; once preprocessed, only one fits.
    const refusals: unknown[] = [];
    const pair = [embedder.embed([photos[1]!]), embedder.embed([photos[2]!])].map((call) => call.catch((error: unknown) => void refusals.push(error)));
    await eventually(() => refusals.length === 1);
    expect(refusals[0]).toBeInstanceOf(QueueFullError);
    for (let i = 0; i < 20; i++) await expect(embedder.embed([photos[3]!])).rejects.toBeInstanceOf(QueueFullError);
    expect(embedder.batcher.queueDepth).toBe(1);
    expect(pool.slotCapacity - pool.freeSlots).toBe(1); // only the queued image holds a slot

    gate.open();
    await first;
    await Promise.all(pair);
    expect(refusals).toHaveLength(1);
    expect(pool.freeSlots).toBe(pool.slotCapacity);
    for (const photo of photos) expect(await embedder.embed([photo])).toHaveLength(1);
    expect(pool.freeSlots).toBe(pool.slotCapacity);

    const closing = embedder.close();
    await expect(embedder.embed([photos[0]!])).rejects.toBeInstanceOf(ShuttingDownError);
    await closing;
    expect(pool.freeSlots).toBe(pool.slotCapacity);
  });

  it('releases the slots of a batch whose encoder run fails', async () => {
    const failing = {
      run: () => Promise.reject(new Error('encoder thread gone')),
      release: () => Promise.resolve(),
    } as unknown as ort.InferenceSession;
    const { embedder, pool } = embedderOn(failing, { maxBatch: 2, maxWaitMs: 0, maxQueue: 8 });
    for (let round = 0; round < 3; round++) await expect(embedder.embed(photos)).rejects.toBeInstanceOf(EncoderUnavailableError);
    expect(pool.freeSlots).toBe(pool.slotCapacity);
  });
});
