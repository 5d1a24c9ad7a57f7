// Readiness before, during and after model loading; graceful shutdown with work in flight.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { EmbeddingsResponse, ErrorResponse, ReadinessResponse } from '../../src/client.ts';
import {
  DirectEncoder,
  distinctPhotos,
  eventually,
  heldPackageLoader,
  imagesBody,
  maxAbsDifference,
  postJson,
  readMetric,
  RunGate,
  startTestService,
  type TestService,
  waitUntilReady,
} from './support.ts';

let direct: DirectEncoder;
let photos: Buffer[];

beforeAll(async () => {
  direct = await DirectEncoder.open();
  photos = await distinctPhotos(3);
});

afterAll(async () => {
  await direct?.release();
});

let service: TestService | undefined;
afterEach(async () => {
  await service?.close();
  service = undefined;
});

async function readiness(url: string): Promise<{ status: number; retryAfter: string | null; body: ReadinessResponse }> {
  const response = await fetch(`${url}/readyz`);
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as ReadinessResponse };
}

describe('readiness', () => {
  it('lazy loading: /readyz is 503 until the first request loads the model, then 200', async () => {
    service = await startTestService({ modelLoad: 'lazy' });
    const before = await readiness(service.url);
    expect(before).toMatchObject({ status: 503, body: { status: 'not_loaded' } });
    expect(Number(before.retryAfter)).toBeGreaterThanOrEqual(1);
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);

    const response = await postJson(`${service.url}/v1/embed/texts`, { texts: ['Quercus robur'] });
    expect(response.status).toBe(200);
    expect(((await response.json()) as EmbeddingsResponse).embeddings[0]).toHaveLength(768);
    expect(await readiness(service.url)).toMatchObject({ status: 200, body: { status: 'ready', model: { isStandIn: true } } });
  });

  it('eager loading: requests during loading get 503 MODEL_NOT_READY with Retry-After', async () => {
    const { loadPackage, release } = heldPackageLoader();
    service = await startTestService({ modelLoad: 'eager' }, { loadPackage });
    expect(await readiness(service.url)).toMatchObject({ status: 503, body: { status: 'loading' } });

    const early = await postJson(`${service.url}/v1/embed/texts`, { texts: ['Quercus robur'] });
    expect(early.status).toBe(503);
    expect(Number(early.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await early.json()) as ErrorResponse).error.code).toBe('MODEL_NOT_READY');
    expect(await readMetric(service.url, 'inference_model_ready')).toBe(0);

    release();
    await waitUntilReady(service.url);
    expect((await postJson(`${service.url}/v1/embed/texts`, { texts: ['Quercus robur'] })).status).toBe(200);
    expect(await readMetric(service.url, 'inference_model_ready')).toBe(1);
  });

  it('a package that fails validation: /readyz says failed and why; requests get 503 MODEL_UNAVAILABLE', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'arbor-bad-package-'));
    try {
      await writeFile(path.join(dir, 'manifest.json'), JSON.stringify({ name: 'broken' }));
      service = await startTestService({ modelLoad: 'eager', modelDir: dir });
      await eventually(async () => (await readiness(service!.url)).body.status === 'failed');
      const { status, body } = await readiness(service.url);
      expect(status).toBe(503);
      expect(body.error).toMatch(/manifest\.json is invalid: .*version/);
      const response = await postJson(`${service.url}/v1/embed/texts`, { texts: ['x'] });
      expect(response.status).toBe(503);
      expect(((await response.json()) as ErrorResponse).error.code).toBe('MODEL_UNAVAILABLE');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('graceful shutdown', () => {
  it('stops taking requests, finishes the accepted and queued ones, then closes', async () => {
    const gate = new RunGate('image_encoder');
    service = await startTestService({ maxBatch: 1 }, { sessions: { factory: gate.factory() } });
    await waitUntilReady(service.url);
    const url = service.url;

    const accepted = photos.map((photo, i) => (i === 0 ? postJson(`${url}/v1/embed/images`, imagesBody([photo])) : undefined));
    await gate.started();
    accepted[1] = postJson(`${url}/v1/embed/images`, imagesBody([photos[1]]));
    accepted[2] = postJson(`${url}/v1/embed/images`, imagesBody([photos[2]]));
    await eventually(async () => (await readMetric(url, 'inference_queue_depth', { queue: 'image' })) === 2);

    const closed = service.close();
    let closeFinished = false;
    void closed.then(() => (closeFinished = true));

    // New work is refused: either the listener is gone or a kept-alive connection answers 503.
    const late = await postJson(`${url}/v1/embed/texts`, { texts: ['late'] }).catch((error: unknown) => error);
    if (late instanceof Response) {
      expect(late.status).toBe(503);
      expect(((await late.json()) as ErrorResponse).error.code).toBe('SHUTTING_DOWN');
    } else {
      expect(late).toBeInstanceOf(Error);
    }
    expect(closeFinished).toBe(false);

    gate.open();
    const responses = await Promise.all(accepted as Promise<Response>[]);
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200]);
    for (let i = 0; i < photos.length; i++) {
      const body = (await responses[i].json()) as EmbeddingsResponse;
      expect(maxAbsDifference(body.embeddings[0], await direct.embedImage(photos[i]))).toBeLessThan(1e-5);
    }
    await closed;
    expect(service.logs.some((line) => line.msg === 'shutdown complete')).toBe(true);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    service = undefined;
  });
});
