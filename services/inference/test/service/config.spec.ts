import { availableParallelism } from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { ConfigError, loadConfig } from '../../src/config.ts';
import { REPO_ROOT } from './support.ts';

describe('loadConfig', () => {
  it('has documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 4100,
      modelDir: path.join(REPO_ROOT, 'models', 'arbor-standin-v1'),
      modelLoad: 'eager',
      precision: 'auto',
      providers: ['cpu'],
      intraOpThreads: availableParallelism(),
      interOpThreads: 1,
      spinWait: false,
      maxBatch: 16,
      textMaxBatch: 64,
      maxWaitMs: 10,
      maxQueue: 256,
      maxBodyBytes: 32 * 1024 * 1024,
      maxImagesPerRequest: 32,
      maxTextsPerRequest: 256,
      logLevel: 'info',
    });
  });

  it('reads each variable, treating empty ones as unset', () => {
    const config = loadConfig({
      INFERENCE_HOST: '0.0.0.0',
      INFERENCE_PORT: '8080',
      INFERENCE_PROVIDERS: ' CUDA, cpu ',
      INFERENCE_INTRA_OP_THREADS: '6',
      INFERENCE_SPIN_WAIT: 'on',
      MAX_BATCH: '8',
      MAX_WAIT_MS: '0',
      MODEL_DIR: '/srv/models/bioclip-2',
      MODEL_LOAD: 'lazy',
      LOG_LEVEL: '',
    });
    expect(config).toMatchObject({
      host: '0.0.0.0',
      port: 8080,
      providers: ['cuda', 'cpu'],
      intraOpThreads: 6,
      spinWait: true,
      maxBatch: 8,
      maxWaitMs: 0,
      modelDir: '/srv/models/bioclip-2',
      modelLoad: 'lazy',
      logLevel: 'info',
    });
  });

  it('resolves a relative MODEL_DIR against the repository root, not the working directory', () => {
    expect(loadConfig({ MODEL_DIR: 'models/other' }).modelDir).toBe(path.join(REPO_ROOT, 'models', 'other'));
  });

  it('lists every invalid variable in one ConfigError', () => {
    let error: unknown;
    try {
      loadConfig({ INFERENCE_PORT: 'eighty', INFERENCE_PROVIDERS: 'tpu', MAX_BATCH: '0', MODEL_LOAD: 'sometimes' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    for (const name of ['INFERENCE_PORT', 'INFERENCE_PROVIDERS', 'MAX_BATCH', 'MODEL_LOAD']) expect(message).toContain(name);
  });

  it('refuses a queue smaller than the largest request', () => {
    expect(() => loadConfig({ MAX_QUEUE: '16', MAX_IMAGES_PER_REQUEST: '32', MAX_TEXTS_PER_REQUEST: '8' })).toThrow(
      /MAX_QUEUE: must be at least MAX_IMAGES_PER_REQUEST \(32\)/,
    );
  });
});
