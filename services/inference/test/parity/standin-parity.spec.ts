// The committed stand-in package (models/arbor-standin-v1) run by onnxruntime-node must reproduce
// the PyTorch reference embeddings in fixtures/ (made by models/tools/parity/make_parity_fixtures.py).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadParityFixture, sum, type LoadedFixture } from './parity-fixture.ts';
import { maxPairwiseCosine } from './parity-metrics.ts';
import {
  encoderFile,
  imageParity,
  openEncoder,
  readManifest,
  textParity,
  type PackageManifest,
} from './parity-run.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const PACKAGE_DIR = path.join(REPO_ROOT, 'models', 'arbor-standin-v1');
const FIXTURE_DIR = fileURLToPath(new URL('./fixtures/', import.meta.url));

const MIN_COSINE = 0.9999;
const MIN_CENTRED_COSINE = 0.999;
const MAX_RELATIVE_ERROR = 1e-3;
const MAX_PACKAGE_BYTES = 25 * 1024 * 1024;
const SETUP_TIMEOUT_MS = 60_000;

let manifest: PackageManifest;
let loaded: LoadedFixture;
let imageSession: ort.InferenceSession;
let textSession: ort.InferenceSession;

beforeAll(async () => {
  manifest = await readManifest(PACKAGE_DIR);
  loaded = await loadParityFixture(FIXTURE_DIR);
  imageSession = await openEncoder(PACKAGE_DIR, encoderFile(manifest, 'image_encoder', 'fp32'));
  textSession = await openEncoder(PACKAGE_DIR, encoderFile(manifest, 'text_encoder', 'fp32'));
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  await imageSession?.release();
  await textSession?.release();
});

describe('arbor-standin-v1 package', () => {
  it('says plainly that it is a stand-in, not BioCLIP 2', () => {
    expect(manifest.isStandIn).toBe(true);
    expect(manifest.description).toMatch(/NOT BioCLIP 2/);
    expect(manifest.description).toMatch(/random weights/i);
  });

  it('keeps the BioCLIP 2 contract', () => {
    expect(manifest.embeddingDim).toBe(768);
    expect(manifest.imageSize).toBe(224);
    expect(manifest.tokenizer).toMatchObject({ vocabSize: 49408, contextLength: 77, sot: 49406, eot: 49407 });
    expect(manifest.preprocessing.mean).toEqual([0.48145466, 0.4578275, 0.40821073]);
    expect(manifest.preprocessing.std).toEqual([0.26862954, 0.26130258, 0.27577711]);
    expect(manifest.io.normalized).toBe(false);
  });

  it('lists every file with its true size and sha256, within the size budget', async () => {
    let total = 0;
    for (const entry of manifest.files) {
      const bytes = await readFile(path.join(PACKAGE_DIR, entry.path));
      expect(bytes.length, entry.path).toBe(entry.bytes);
      expect(createHash('sha256').update(bytes).digest('hex'), entry.path).toBe(entry.sha256);
      total += bytes.length;
    }
    expect(total).toBeLessThanOrEqual(MAX_PACKAGE_BYTES);
  });

  it('declares the fused attention of its fp32 encoders, which the parity checks below run', async () => {
    for (const role of ['image_encoder', 'text_encoder'] as const) {
      const entry = manifest.files.find((f) => f.role === role && f.precision === 'fp32')!;
      expect(entry.contribOps, entry.path).toEqual(['com.microsoft.Attention']);
      // The op's domain is stored as a plain string in the protobuf.
      expect((await readFile(path.join(PACKAGE_DIR, entry.path))).includes('com.microsoft'), entry.path).toBe(true);
    }
    const int8 = manifest.files.find((f) => f.precision === 'int8')!;
    expect(int8.contribOps, 'int8 files are plain ONNX').toBeUndefined();
  });

  it('matches the weights the fixtures were computed with', () => {
    expect(loaded.fixture.package.stateDictSha256).toBe(manifest.source.stateDictSha256);
  });
});

describe('parity fixtures', () => {
  it('rebuild the reference pixel tensors exactly', () => {
    loaded.pixels.forEach((pixels, i) => {
      expect(sum(pixels)).toBeCloseTo(loaded.fixture.images.pixelSums[i], 4);
    });
  });

  it('hold inputs the encoders tell apart', () => {
    expect(maxPairwiseCosine(loaded.fixture.imageEmbeds)).toBeLessThan(MIN_COSINE);
    expect(maxPairwiseCosine(loaded.fixture.textEmbeds)).toBeLessThan(MIN_COSINE);
  });

  it('put eot (49407) at the pooled position of every row, including a truncated one', () => {
    for (const { inputIds } of loaded.fixture.texts) {
      expect(inputIds).toHaveLength(77);
      expect(inputIds[0]).toBe(49406);
      expect(Math.max(...inputIds)).toBe(49407);
      expect(inputIds.filter((id) => id === 49407)).toHaveLength(1);
    }
    expect(loaded.fixture.texts.some(({ inputIds }) => inputIds[76] === 49407)).toBe(true);
  });
});

describe('onnxruntime-node vs PyTorch', () => {
  it('image encoder reproduces the reference embeddings', async () => {
    const figures = await imageParity(imageSession, manifest, loaded);
    for (const c of figures.cosines) expect(c).toBeGreaterThanOrEqual(MIN_COSINE);
    for (const c of figures.centredCosines) expect(c).toBeGreaterThanOrEqual(MIN_CENTRED_COSINE);
    for (const e of figures.relativeErrors) expect(e).toBeLessThanOrEqual(MAX_RELATIVE_ERROR);
    expect(figures.batchVsSingleRelativeError).toBeLessThanOrEqual(MAX_RELATIVE_ERROR);
  });

  it('text encoder reproduces the reference embeddings, pooled at eot', async () => {
    const figures = await textParity(textSession, manifest, loaded);
    for (const c of figures.cosines) expect(c).toBeGreaterThanOrEqual(MIN_COSINE);
    for (const c of figures.centredCosines) expect(c).toBeGreaterThanOrEqual(MIN_CENTRED_COSINE);
    for (const e of figures.relativeErrors) expect(e).toBeLessThanOrEqual(MAX_RELATIVE_ERROR);
    expect(figures.batchVsSingleRelativeError).toBeLessThanOrEqual(MAX_RELATIVE_ERROR);
  });
});
