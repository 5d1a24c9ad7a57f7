// MODEL_PRECISION: parsing, which encoder file each setting picks, and the service running the stand-in's int8
// image encoder when asked (and refusing, by name, a precision the package does not have).
import * as ort from 'onnxruntime-node';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { EmbeddingsResponse } from '../../src/client.ts';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { chooseEncoderFile, type PrecisionSetting } from '../../src/models/encoder-precision.ts';
import { ModelPackageError } from '../../src/models/errors.ts';
import type { Precision } from '../../src/models/manifest.schema.ts';
import { loadModelPackage, type ModelPackage } from '../../src/models/model-package.ts';
import { preprocessImage } from '../../src/preprocess/index.ts';
import {
  DirectEncoder,
  eventually,
  imagesBody,
  maxAbsDifference,
  PHOTOS,
  postJson,
  readPhoto,
  STANDIN_DIR,
  startTestService,
  waitUntilReady,
  type TestService,
} from './support.ts';

describe('MODEL_PRECISION', () => {
  const precision = (value: string) => loadConfig({ MODEL_PRECISION: value }).precision;

  it('takes one precision for both encoders, int8 included, in any case', () => {
    expect(loadConfig({}).precision).toBe('auto');
    expect(precision('int8')).toBe('int8');
    expect(precision(' FP16 ')).toBe('fp16');
  });

  it('takes one precision per encoder; an encoder it does not name is auto', () => {
    expect(precision('image:int8,text:fp32')).toEqual({ image_encoder: 'int8', text_encoder: 'fp32' });
    expect(precision('Image: INT8')).toEqual({ image_encoder: 'int8', text_encoder: 'auto' });
  });

  it.each([
    ['int4', /MODEL_PRECISION: expected auto, fp32, fp16, int8, or one per encoder .*got "int4"/],
    ['image:int4', /MODEL_PRECISION: "image:int4" is not encoder:precision/],
    ['vision:int8', /MODEL_PRECISION: "vision:int8" is not encoder:precision/],
    ['image:int8:fp32', /MODEL_PRECISION: "image:int8:fp32" is not encoder:precision/],
    ['image:int8,image:fp32', /MODEL_PRECISION: names the image encoder twice/],
  ])('refuses %s with a ConfigError saying what it takes', (value, message) => {
    expect(() => precision(value)).toThrow(ConfigError);
    expect(() => precision(value)).toThrow(message);
  });
});

describe('chooseEncoderFile', () => {
  /** A package listing the given precisions for both encoders. */
  const fakePackage = (precisions: Precision[]) =>
    ({
      dir: '/pkg',
      encoderPath: (role: string, precision: Precision) => (precisions.includes(precision) ? `/pkg/${role}.${precision}.onnx` : undefined),
    }) as unknown as ModelPackage;

  it('auto never picks int8: fp16 on CUDA, fp32 on CPU', () => {
    const pkg = fakePackage(['fp32', 'fp16', 'int8']);
    expect(chooseEncoderFile(pkg, 'image_encoder', 'auto', false)).toBe('/pkg/image_encoder.fp32.onnx');
    expect(chooseEncoderFile(pkg, 'image_encoder', 'auto', true)).toBe('/pkg/image_encoder.fp16.onnx');
    expect(chooseEncoderFile(pkg, 'text_encoder', 'int8', false)).toBe('/pkg/text_encoder.int8.onnx');
  });

  it('auto on a package without fp32 or fp16 names what it has', () => {
    expect(() => chooseEncoderFile(fakePackage(['int8']), 'image_encoder', 'auto', false)).toThrow(
      /MODEL_PRECISION=auto needs an fp32 or fp16 image_encoder, but the package lists its image_encoder in int8 only/,
    );
  });

  describe('on the committed stand-in (fp32 encoders and an int8 image encoder)', () => {
    let standIn: ModelPackage;
    beforeAll(async () => {
      standIn = await loadModelPackage(STANDIN_DIR);
    });
    const file = (name: string) => path.join(STANDIN_DIR, name);

    it('picks per encoder', () => {
      const imageInt8: PrecisionSetting = { image_encoder: 'int8', text_encoder: 'auto' };
      expect(chooseEncoderFile(standIn, 'image_encoder', imageInt8, false)).toBe(file('image_encoder.int8.onnx'));
      expect(chooseEncoderFile(standIn, 'text_encoder', imageInt8, false)).toBe(file('text_encoder.onnx'));
      expect(chooseEncoderFile(standIn, 'image_encoder', 'auto', true)).toBe(file('image_encoder.onnx'));
      expect(chooseEncoderFile(standIn, 'image_encoder', 'int8', false)).toBe(file('image_encoder.int8.onnx'));
    });

    it('refuses a precision an encoder lacks with PRECISION_MISSING naming what the package lists', () => {
      const refusal = (role: 'image_encoder' | 'text_encoder', setting: PrecisionSetting) => {
        try {
          chooseEncoderFile(standIn, role, setting, false);
        } catch (error) {
          return error;
        }
        throw new Error('chose a file');
      };
      const textInt8 = refusal('text_encoder', 'int8');
      expect(textInt8).toBeInstanceOf(ModelPackageError);
      expect(textInt8).toMatchObject({ code: 'PRECISION_MISSING', packageDir: STANDIN_DIR });
      expect((textInt8 as Error).message).toMatch(
        /MODEL_PRECISION=int8 needs an int8 text_encoder, but the package lists its text_encoder in fp32 only; .*e\.g\. image:int8,text:fp32/,
      );
      expect((refusal('image_encoder', { image_encoder: 'fp16', text_encoder: 'fp32' }) as Error).message).toMatch(
        /MODEL_PRECISION=image:fp16,text:fp32 needs an fp16 image_encoder, but the package lists its image_encoder in fp32, int8 only$/,
      );
    });
  });
});

describe('the service with an int8 image encoder', () => {
  let service: TestService | undefined;
  afterEach(async () => {
    await service?.close();
    service = undefined;
  });

  async function directInt8Embeddings(photos: Buffer[]): Promise<Float32Array[]> {
    const pkg = await loadModelPackage(STANDIN_DIR);
    const session = await ort.InferenceSession.create(pkg.encoderPath('image_encoder', 'int8')!, { executionProviders: ['cpu'] });
    try {
      const { input, output } = pkg.manifest.io.image;
      const rows: Float32Array[] = [];
      for (const photo of photos) {
        const tensor = await preprocessImage(photo, { mode: pkg.manifest.preprocessing.mode });
        const result = await session.run({ [input]: new ort.Tensor('float32', tensor.data, tensor.dims) });
        const row = result[output].data as Float32Array;
        const norm = Math.hypot(...row);
        rows.push(row.map((v) => v / norm));
      }
      return rows;
    } finally {
      await session.release();
    }
  }

  it('MODEL_PRECISION=image:int8 serves the int8 image encoder and the fp32 text encoder', async () => {
    const photos = await Promise.all(PHOTOS.slice(0, 3).map(readPhoto));
    service = await startTestService({ precision: loadConfig({ MODEL_PRECISION: 'image:int8' }).precision });
    await waitUntilReady(service.url);

    const int8 = await directInt8Embeddings(photos);
    const direct = await DirectEncoder.open();
    try {
      // One request per photo, so each runs as a batch of one like the direct reference (the activation scale
      // of dynamic quantisation depends on the batch).
      for (const [i, photo] of photos.entries()) {
        const response = await postJson(`${service.url}/v1/embed/images`, imagesBody([photo]));
        expect(response.status).toBe(200);
        const [served] = ((await response.json()) as EmbeddingsResponse).embeddings;
        expect(maxAbsDifference(served, int8[i])).toBeLessThan(1e-5);
        // ...and not the fp32 encoder's output, which differs by far more than that.
        expect(maxAbsDifference(served, await direct.embedImage(photo))).toBeGreaterThan(1e-4);
      }
      const texts = await postJson(`${service.url}/v1/embed/texts`, { texts: ['a photo of Leopardus pardalis.'] });
      const [text] = ((await texts.json()) as EmbeddingsResponse).embeddings;
      expect(maxAbsDifference(text, await direct.embedText('a photo of Leopardus pardalis.'))).toBeLessThan(1e-5);
    } finally {
      await direct.release();
    }
  });

  it('MODEL_PRECISION=int8 on the stand-in (no int8 text encoder) fails to load, saying what the package has', async () => {
    service = await startTestService({ modelLoad: 'eager', precision: 'int8' });
    await eventually(async () => service!.host.state === 'failed');
    const { body } = service.host.readiness();
    expect(body.status).toBe('failed');
    expect(body.error).toMatch(/needs an int8 text_encoder, but the package lists its text_encoder in fp32 only/);
  });
});
