import { CLIP_MEAN, CLIP_STD, INPUT_SIZE } from '../../src/preprocess/index.ts';

/** The pixel at (x, y) of image `n` of an NCHW tensor, un-normalised back to [0, 1] RGB. */
export function rgbAt(data: Float32Array, x: number, y: number, n = 0): [number, number, number] {
  const plane = INPUT_SIZE * INPUT_SIZE;
  const at = (c: number) => data[n * 3 * plane + c * plane + y * INPUT_SIZE + x] * CLIP_STD[c] + CLIP_MEAN[c];
  return [at(0), at(1), at(2)];
}

/**
 * Per-test timeout for tests that decode and resample full photos (about 0.1–0.3 s each here, several
 * per test). Generous so a loaded 2-core CI machine does not fail them; nothing asserts timings.
 */
export const SLOW_MACHINE_TIMEOUT_MS = 60_000;
