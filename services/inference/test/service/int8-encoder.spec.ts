// The committed stand-in's int8 image encoder (made by `arbor_export.export --int8 image_encoder`) run with
// onnxruntime-node against its fp32 encoder on the committed photos: the goal is cosine ≥ 0.99 to fp32.
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadModelPackage, type ModelPackage } from '../../src/models/model-package.ts';
import { preprocessImage, type ImageTensor } from '../../src/preprocess/index.ts';
import { PHOTOS, readPhoto, STANDIN_DIR } from './support.ts';

const GOAL_COSINE = 0.99;

function unit(vector: Float32Array): Float32Array {
  let sum = 0;
  for (const v of vector) sum += v * v;
  const norm = Math.sqrt(sum);
  return vector.map((v) => v / norm);
}

function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

/** The rows minus their mean: what differs between the images, without the direction they all share. */
function centred(rows: Float32Array[]): Float32Array[] {
  const mean = new Float32Array(rows[0].length);
  for (const row of rows) row.forEach((v, i) => (mean[i] += v / rows.length));
  return rows.map((row) => unit(row.map((v, i) => v - mean[i])));
}

describe('the stand-in int8 image encoder', () => {
  let pkg: ModelPackage;
  let tensors: ImageTensor[];
  let fp32: ort.InferenceSession;
  let int8: ort.InferenceSession;

  const embedEach = async (session: ort.InferenceSession): Promise<Float32Array[]> => {
    const { input, output } = pkg.manifest.io.image;
    const rows: Float32Array[] = [];
    for (const tensor of tensors) {
      const result = await session.run({ [input]: new ort.Tensor('float32', tensor.data, tensor.dims) });
      rows.push(unit(result[output].data as Float32Array));
    }
    return rows;
  };

  beforeAll(async () => {
    pkg = await loadModelPackage(STANDIN_DIR);
    tensors = await Promise.all(PHOTOS.map(async (name) => preprocessImage(await readPhoto(name), { mode: pkg.manifest.preprocessing.mode })));
    const open = (precision: 'fp32' | 'int8') =>
      ort.InferenceSession.create(pkg.encoderPath('image_encoder', precision)!, { executionProviders: ['cpu'], graphOptimizationLevel: 'all' });
    [fp32, int8] = await Promise.all([open('fp32'), open('int8')]);
  });

  afterAll(async () => {
    await fp32?.release();
    await int8?.release();
  });

  it('is listed as int8, smaller than fp32, and keeps the fp32 interface', () => {
    const entry = (precision: string) => pkg.manifest.files.find((file) => file.role === 'image_encoder' && file.precision === precision)!;
    expect(entry('int8').path).toBe('image_encoder.int8.onnx');
    // The int8 weights are a quarter of the fp32 ones; the patch Conv and the output projection stay fp32.
    expect(entry('int8').bytes).toBeLessThan(0.6 * entry('fp32').bytes);
    expect(int8.inputNames).toEqual(fp32.inputNames);
    expect(int8.outputNames).toEqual(fp32.outputNames);
  });

  it('gives embeddings with cosine ≥ 0.99 to fp32 on every committed photo, and is not the fp32 graph', async () => {
    const [reference, quantised] = await Promise.all([embedEach(fp32), embedEach(int8)]);
    const cosines = reference.map((row, i) => dot(row, quantised[i]));
    for (const cosine of cosines) expect(cosine).toBeGreaterThanOrEqual(GOAL_COSINE);
    // Measured 0.99994–0.99996; a quantised graph cannot reproduce fp32 exactly.
    expect(Math.max(...cosines)).toBeLessThan(1 - 1e-6);

    // The random stand-in's embeddings share a large common direction; the per-image part must agree too.
    const referenceCentred = centred(reference);
    const quantisedCentred = centred(quantised);
    referenceCentred.forEach((row, i) => expect(dot(row, quantisedCentred[i])).toBeGreaterThanOrEqual(GOAL_COSINE));

    // Similarities between photos, what search and classification use, move by less than 0.01.
    for (let i = 0; i < PHOTOS.length; i++) {
      for (let j = i + 1; j < PHOTOS.length; j++) {
        expect(Math.abs(dot(quantised[i], quantised[j]) - dot(reference[i], reference[j]))).toBeLessThan(0.01);
      }
    }
  });

  it('embeds a batch like single images up to the per-batch activation scale', async () => {
    // Activations are quantised per tensor at run time, so an image's scale depends on its batch: close, not equal.
    const singles = await embedEach(int8);
    const { input, output } = pkg.manifest.io.image;
    const [, ...dims] = tensors[0].dims;
    const data = new Float32Array(tensors.length * tensors[0].data.length);
    tensors.forEach((tensor, i) => data.set(tensor.data, i * tensor.data.length));
    const result = await int8.run({ [input]: new ort.Tensor('float32', data, [tensors.length, ...dims]) });
    const flat = result[output].data as Float32Array;
    const width = pkg.manifest.embeddingDim;
    singles.forEach((single, i) => expect(dot(single, unit(flat.slice(i * width, (i + 1) * width)))).toBeGreaterThan(0.999));
  });
});
