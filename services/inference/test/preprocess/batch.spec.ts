import { describe, expect, it } from 'vitest';
import { preprocessBatch, preprocessImage } from '../../src/preprocess/index.ts';
import { inputBytes } from './reference-fixtures.ts';
import { SLOW_MACHINE_TIMEOUT_MS } from './tensor-access.ts';

/** Index of the first element that differs, or -1 (toEqual on 150k-element arrays is needlessly slow). */
function firstMismatch(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  return a.findIndex((v, i) => !Object.is(v, b[i]));
}

describe('preprocessBatch', { timeout: SLOW_MACHINE_TIMEOUT_MS }, () => {
  it('stacks images into one [N, 3, 224, 224] float32 tensor in input order', async () => {
    const ids = ['mycat', 'tiny', 'exif6'];
    for (const mode of ['open_clip', 'pybioclip'] as const) {
      const batch = await preprocessBatch(ids.map(inputBytes), { mode });
      expect(batch.dims).toEqual([3, 3, 224, 224]);
      expect(batch.data).toBeInstanceOf(Float32Array);
      expect(batch.data.length).toBe(3 * 3 * 224 * 224);
      for (const [n, id] of ids.entries()) {
        const single = await preprocessImage(inputBytes(id), { mode });
        const slice = batch.data.subarray(n * single.data.length, (n + 1) * single.data.length);
        expect(firstMismatch(slice, single.data)).toBe(-1);
      }
    }
  });

  it('passes options to every image', async () => {
    const batch = await preprocessBatch([inputBytes('exif6')], { mode: 'open_clip', applyExifOrientation: false });
    const single = await preprocessImage(inputBytes('exif6'), { mode: 'open_clip', applyExifOrientation: false });
    expect(firstMismatch(batch.data, single.data)).toBe(-1);
  });

  it('an empty batch is an empty tensor', async () => {
    const batch = await preprocessBatch([], { mode: 'pybioclip' });
    expect(batch.dims).toEqual([0, 3, 224, 224]);
    expect(batch.data.length).toBe(0);
  });
});
