// Execution providers from configuration, with the installed providers faked (as immich's
// machine-learning conftest fakes onnxruntime's get_available_providers).
import * as ort from 'onnxruntime-node';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

import type { ReadinessResponse } from '../../src/client.ts';
import { ModelPackageError } from '../../src/models/errors.ts';
import { chooseEncoderFile } from '../../src/models/model-host.ts';
import type { ModelPackage } from '../../src/models/model-package.ts';
import { createEncoderSession, sessionOptions, type SessionFactory, type SessionSettings } from '../../src/sessions/create-session.ts';
import { chooseProviders, installedProviders, type ExecutionProviderName } from '../../src/sessions/providers.ts';
import { startTestService, waitUntilReady, type TestService } from './support.ts';

function recordingLogger() {
  const warnings: { fields: object; message: string }[] = [];
  return {
    warnings,
    info: () => undefined,
    warn: (fields: object, message: string) => void warnings.push({ fields, message }),
  };
}

const available = (...names: ExecutionProviderName[]) => () => new Set(names);
const settings: SessionSettings = { providers: ['cuda', 'cpu'], intraOpThreads: 2, interOpThreads: 1, spinWait: false, cudaDeviceId: 1 };
const fakeSession = {} as ort.InferenceSession;

describe('chooseProviders', () => {
  it('drops a configured provider that is not installed, with a warning, and keeps CPU', () => {
    const logger = recordingLogger();
    expect(chooseProviders(['cuda', 'cpu'], new Set(['cpu']), logger)).toEqual(['cpu']);
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]).toMatchObject({ fields: { provider: 'cuda' } });
  });

  it('keeps the configured order when everything is installed, and always ends with CPU', () => {
    const logger = recordingLogger();
    expect(chooseProviders(['cuda', 'cpu'], new Set(['cuda', 'cpu']), logger)).toEqual(['cuda', 'cpu']);
    expect(chooseProviders(['cuda'], new Set(['cuda', 'cpu']), logger)).toEqual(['cuda', 'cpu']);
    expect(chooseProviders(['cpu'], new Set(['cuda', 'cpu']), logger)).toEqual(['cpu']);
    expect(logger.warnings).toHaveLength(0);
  });

  it('finds CPU installed on this machine', () => {
    expect(installedProviders().has('cpu')).toBe(true);
  });
});

describe('createEncoderSession', () => {
  it('asks ONNX Runtime for CUDA (device from config) then CPU, with the fp16 file, when CUDA is installed', async () => {
    const calls: { modelPath: string; options: ort.InferenceSession.SessionOptions }[] = [];
    const factory: SessionFactory = async (modelPath, options) => (calls.push({ modelPath, options }), fakeSession);
    const created = await createEncoderSession('image_encoder', (cuda) => (cuda ? 'image.fp16.onnx' : 'image.onnx'), settings, {
      logger: recordingLogger(),
      probe: available('cuda', 'cpu'),
      factory,
    });
    expect(created.providers).toEqual(['cuda', 'cpu']);
    expect(calls).toHaveLength(1);
    expect(calls[0].modelPath).toBe('image.fp16.onnx');
    expect(calls[0].options.executionProviders).toEqual([{ name: 'cuda', deviceId: 1 }, 'cpu']);
  });

  it('falls back to CPU and the fp32 file, with a warning, when the CUDA session cannot be created', async () => {
    const logger = recordingLogger();
    const calls: { modelPath: string; options: ort.InferenceSession.SessionOptions }[] = [];
    const factory: SessionFactory = async (modelPath, options) => {
      calls.push({ modelPath, options });
      if (options.executionProviders?.some((p) => typeof p === 'object' && p.name === 'cuda')) throw new Error('no CUDA driver');
      return fakeSession;
    };
    const created = await createEncoderSession('text_encoder', (cuda) => (cuda ? 'text.fp16.onnx' : 'text.onnx'), settings, {
      logger,
      probe: available('cuda', 'cpu'),
      factory,
    });
    expect(created).toMatchObject({ providers: ['cpu'], modelPath: 'text.onnx' });
    expect(calls.map((c) => c.modelPath)).toEqual(['text.fp16.onnx', 'text.onnx']);
    expect(calls[1].options).toMatchObject({
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      intraOpNumThreads: 2,
      interOpNumThreads: 1,
      executionMode: 'sequential',
    });
    expect(logger.warnings.map((w) => w.message)).toEqual([expect.stringMatching(/CUDA session failed; falling back to CPU/)]);
  });

  it('never tries CUDA when it is not installed', async () => {
    const logger = recordingLogger();
    const paths: string[] = [];
    const factory: SessionFactory = async (modelPath) => (paths.push(modelPath), fakeSession);
    const created = await createEncoderSession('image_encoder', (cuda) => (cuda ? 'fp16' : 'fp32'), settings, {
      logger,
      probe: available('cpu'),
      factory,
    });
    expect(created.providers).toEqual(['cpu']);
    expect(paths).toEqual(['fp32']);
    expect(logger.warnings).toHaveLength(1);
  });
});

describe('chooseEncoderFile', () => {
  const pkg = (precisions: ('fp32' | 'fp16')[]) =>
    ({
      dir: '/pkg',
      encoderPath: (_role: string, precision: string) => (precisions.includes(precision as 'fp32') ? `/pkg/${precision}.onnx` : undefined),
    }) as unknown as ModelPackage;

  it('auto: fp16 on CUDA when the package has it, fp32 on CPU', () => {
    expect(chooseEncoderFile(pkg(['fp32', 'fp16']), 'image_encoder', 'auto', true)).toBe('/pkg/fp16.onnx');
    expect(chooseEncoderFile(pkg(['fp32', 'fp16']), 'image_encoder', 'auto', false)).toBe('/pkg/fp32.onnx');
    expect(chooseEncoderFile(pkg(['fp32']), 'image_encoder', 'auto', true)).toBe('/pkg/fp32.onnx');
  });

  it('an explicit precision the package lacks is a clear error', () => {
    expect(() => chooseEncoderFile(pkg(['fp32']), 'text_encoder', 'fp16', true)).toThrow(ModelPackageError);
    expect(() => chooseEncoderFile(pkg(['fp32']), 'text_encoder', 'fp16', true)).toThrow(/needs an fp16 text_encoder/);
  });
});

describe('the service with INFERENCE_PROVIDERS=cuda,cpu', () => {
  let service: TestService | undefined;
  afterEach(async () => {
    await service?.close();
    service = undefined;
  });

  it('comes up on CPU with a warning when CUDA is not installed', async () => {
    service = await startTestService({ providers: ['cuda', 'cpu'] }, { sessions: { probe: available('cpu') } });
    await waitUntilReady(service.url);
    const body = (await (await fetch(`${service.url}/readyz`)).json()) as ReadinessResponse;
    expect(body.providers).toEqual({ image: ['cpu'], text: ['cpu'] });
    expect(service.logs.filter((line) => line.level === 40 && line.provider === 'cuda')).toHaveLength(2);
  });

  it('falls back to CPU when CUDA looks installed but ONNX Runtime cannot load it', async () => {
    // The probe claims CUDA; the real onnxruntime-node then fails to load the CUDA provider library.
    service = await startTestService({ providers: ['cuda', 'cpu'] }, { sessions: { probe: available('cuda', 'cpu') } });
    await waitUntilReady(service.url);
    const body = (await (await fetch(`${service.url}/readyz`)).json()) as ReadinessResponse;
    expect(body.providers).toEqual({ image: ['cpu'], text: ['cpu'] });
    const fallbacks = service.logs.filter((line) => line.level === 40 && /falling back to CPU/.test(line.msg));
    expect(fallbacks.map((line) => line.encoder).sort()).toEqual(['image_encoder', 'text_encoder']);
    const response = await fetch(`${service.url}/v1/embed/texts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ texts: ['Panthera leo'] }),
    });
    expect(response.status).toBe(200);
  });
});

describe('ONNX Runtime thread spinning (INFERENCE_SPIN_WAIT)', () => {
  const textEncoder = fileURLToPath(new URL('../../../../models/arbor-standin-v1/text_encoder.onnx', import.meta.url));

  it('is off unless asked for, and ONNX Runtime takes the setting', async () => {
    const off = sessionOptions(['cpu'], { ...settings, spinWait: false });
    expect(off.extra).toEqual({ 'session.intra_op.allow_spinning': '0', 'session.inter_op.allow_spinning': '0' });
    expect(sessionOptions(['cpu'], { ...settings, spinWait: true }).extra).toBeUndefined();
    const session = await ort.InferenceSession.create(textEncoder, off);
    try {
      const ids = new BigInt64Array(77);
      ids[0] = 49406n;
      ids[1] = 49407n;
      const output = await session.run({ input_ids: new ort.Tensor('int64', ids, [1, 77]) });
      expect(output[session.outputNames[0]!]!.dims).toEqual([1, 768]);
    } finally {
      await session.release();
    }
  });
});

