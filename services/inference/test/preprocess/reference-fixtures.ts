import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { CLIP_MEAN, CLIP_STD, INPUT_SIZE, type PreprocessMode } from '../../src/preprocess/index.ts';

/** Test-side reader for the fixtures written by models/tools/preprocess_reference/make_fixtures.py. */

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
export const REPO_ROOT = resolve(FIXTURES, '../../../../..');

export interface ReferenceCase {
  image: string;
  mode: PreprocessMode;
  applyExifOrientation: boolean;
  file: string;
  encoding: { scale: number; bytesPerSample: 1 | 2 };
  stats: { mean: number[]; std: number[] };
}

export interface ReferenceInput {
  id: string;
  path: string;
  what: string;
  note: string;
  bytes: number;
  sha256: string;
}

interface Manifest {
  versions: Record<string, string>;
  inputs: ReferenceInput[];
  cases: ReferenceCase[];
}

export const manifest: Manifest = JSON.parse(readFileSync(join(FIXTURES, 'manifest.json'), 'utf8'));

export function inputBytes(id: string): Uint8Array {
  const input = manifest.inputs.find((i) => i.id === id);
  if (!input) throw new Error(`no fixture input ${id}`);
  return new Uint8Array(readFileSync(join(REPO_ROOT, input.path)));
}

/** The reference tensor, normalised (CHW, 3×224×224), in float64. */
export function referenceTensor(c: ReferenceCase): Float64Array {
  const coded = gunzipSync(readFileSync(join(FIXTURES, c.file)));
  const plane = INPUT_SIZE * INPUT_SIZE;
  const samples = 3 * plane;
  const { scale, bytesPerSample } = c.encoding;
  const modulus = 2 ** (8 * bytesPerSample);
  if (coded.length !== samples * bytesPerSample) throw new Error(`${c.file}: unexpected length ${coded.length}`);
  const out = new Float64Array(samples);
  for (let row = 0; row < 3 * INPUT_SIZE; row++) {
    let q = 0;
    for (let x = 0; x < INPUT_SIZE; x++) {
      const i = row * INPUT_SIZE + x;
      const delta = bytesPerSample === 1 ? coded[i] : coded[i] * 256 + coded[samples + i];
      q = (q + delta) % modulus;
      const channel = Math.floor(i / plane);
      out[i] = (q / scale - CLIP_MEAN[channel]) / CLIP_STD[channel];
    }
  }
  return out;
}

/** Largest quantisation error of a stored reference, in normalised units. */
export function quantisationError(c: ReferenceCase): number {
  return c.encoding.scale === 255 ? 0 : 0.5 / c.encoding.scale / Math.min(...CLIP_STD);
}

export interface Difference {
  maxAbs: number;
  meanAbs: number;
}

export function difference(actual: ArrayLike<number>, expected: ArrayLike<number>, offset = 0): Difference {
  let maxAbs = 0;
  let sum = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[offset + i] - expected[i]);
    if (d > maxAbs) maxAbs = d;
    sum += d;
  }
  return { maxAbs, meanAbs: sum / expected.length };
}
