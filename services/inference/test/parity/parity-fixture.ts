// Reads the fixtures written by models/tools/parity/make_parity_fixtures.py: synthetic images
// (uint8 NHWC), token rows, and the PyTorch reference embeddings for one model package.
import { readFile } from 'node:fs/promises';
import path from 'node:path';

export interface ParityFixture {
  package: { name: string; version: string; stateDictSha256: string };
  images: {
    file: string;
    layout: 'NHWC';
    dtype: 'uint8';
    shape: [number, number, number, number];
    mean: [number, number, number];
    std: [number, number, number];
    pixelSums: number[];
  };
  texts: { text: string; inputIds: number[] }[];
  imageEmbeds: number[][];
  textEmbeds: number[][];
}

export interface LoadedFixture {
  fixture: ParityFixture;
  /** One float32 NCHW tensor per image, normalised exactly as the Python side did. */
  pixels: Float32Array[];
  imageSize: number;
}

export async function loadParityFixture(dir: string): Promise<LoadedFixture> {
  const fixture = JSON.parse(await readFile(path.join(dir, 'parity.json'), 'utf8')) as ParityFixture;
  const bytes = await readFile(path.join(dir, fixture.images.file));
  const [count, height, width, channels] = fixture.images.shape;
  if (channels !== 3 || height !== width || bytes.length !== count * height * width * channels) {
    throw new Error(`${fixture.images.file}: ${bytes.length} bytes do not match shape ${fixture.images.shape.join('x')}`);
  }
  const pixels: Float32Array[] = [];
  for (let i = 0; i < count; i += 1) {
    const hwc = bytes.subarray(i * height * width * 3, (i + 1) * height * width * 3);
    pixels.push(normaliseToChw(hwc, height, width, fixture.images.mean, fixture.images.std));
  }
  return { fixture, pixels, imageSize: height };
}

/**
 * uint8 HWC -> float32 CHW, ((v / 255) - mean) / std with each step rounded to float32, which is
 * what numpy does on float32 arrays; Math.fround after each double operation gives the same bits
 * (double has more than 2 x 24 + 2 bits, so rounding twice never differs from rounding once).
 */
export function normaliseToChw(
  hwc: Uint8Array,
  height: number,
  width: number,
  mean: readonly number[],
  std: readonly number[],
): Float32Array {
  const plane = height * width;
  const out = new Float32Array(3 * plane);
  const f255 = Math.fround(255);
  for (let c = 0; c < 3; c += 1) {
    const m = Math.fround(mean[c]);
    const s = Math.fround(std[c]);
    for (let p = 0; p < plane; p += 1) {
      const scaled = Math.fround(hwc[p * 3 + c] / f255);
      out[c * plane + p] = Math.fround(Math.fround(scaled - m) / s);
    }
  }
  return out;
}

export function sum(values: Float32Array): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}
