// The encoders run on their own worker threads: the event loop answers while a batch occupies the image
// encoder's thread, a session failure or a dead worker fails only the requests of that batch (503
// MODEL_UNAVAILABLE) and the session is re-created (or readiness says it could not be), and shutdown
// finishes accepted work before releasing the workers. The image encoder's thread is held inside `run`
// by held-encoder.worker.ts (Atomics.wait, as onnxruntime-node's synchronous run would hold it), so no
// step depends on timing.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { EmbeddingsResponse, ErrorResponse, ReadinessResponse } from '../../src/client.ts';
import { HeldEncoder } from './held-encoder/held-encoder.ts';
import {
  DirectEncoder,
  distinctPhotos,
  eventually,
  imagesBody,
  maxAbsDifference,
  postJson,
  readMetric,
  startTestService,
  waitUntilReady,
  type TestService,
} from './support.ts';

const TOLERANCE = 1e-5;

let direct: DirectEncoder;
let photos: Buffer[];

beforeAll(async () => {
  direct = await DirectEncoder.open();
  photos = await distinctPhotos(4);
});

afterAll(async () => {
  await direct?.release();
});

let service: TestService | undefined;
let held: HeldEncoder | undefined;
afterEach(async () => {
  // A failed test may leave the worker held: let it go so that shutdown can finish.
  held?.creations('proceed');
  held?.runs('run');
  await service?.close();
  service = undefined;
  held = undefined;
});

async function startHeld(overrides: Parameters<typeof startTestService>[0] = {}): Promise<{ service: TestService; held: HeldEncoder }> {
  held = new HeldEncoder('image_encoder');
  service = await startTestService({ maxBatch: 1, ...overrides }, { sessions: { factory: held.factory() } });
  await waitUntilReady(service.url);
  return { service, held };
}

const embedImage = (url: string, photo: Buffer) => postJson(`${url}/v1/embed/images`, imagesBody([photo]));

async function expectEmbedding(response: Response, photo: Buffer): Promise<void> {
  expect(response.status).toBe(200);
  const body = (await response.json()) as EmbeddingsResponse;
  expect(maxAbsDifference(body.embeddings[0], await direct.embedImage(photo))).toBeLessThan(TOLERANCE);
}

async function expectModelUnavailable(response: Response, message: RegExp): Promise<void> {
  expect(response.status).toBe(503);
  expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  const body = (await response.json()) as ErrorResponse;
  expect(body.error.code).toBe('MODEL_UNAVAILABLE');
  expect(body.error.message).toMatch(message);
}

async function readiness(url: string): Promise<{ status: number; body: ReadinessResponse }> {
  const response = await fetch(`${url}/readyz`);
  return { status: response.status, body: (await response.json()) as ReadinessResponse };
}

describe('encoders on worker threads', () => {
  it('answers /healthz, /readyz, /metrics, text embeddings and 429 while an image batch occupies its encoder thread', async () => {
    const { service, held } = await startHeld({ maxQueue: 1, maxImagesPerRequest: 1, maxTextsPerRequest: 1 });
    const { url } = service;

    const first = embedImage(url, photos[0]);
    await held.started(1); // the image encoder's thread is now blocked inside run
    const queued = embedImage(url, photos[1]);
    await eventually(async () => (await readMetric(url, 'inference_queue_depth', { queue: 'image' })) === 1);

    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect(await readiness(url)).toMatchObject({ status: 200, body: { status: 'ready' } });
    const refused = await embedImage(url, photos[2]);
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as ErrorResponse).error.code).toBe('QUEUE_FULL');
    const texts = await postJson(`${url}/v1/embed/texts`, { texts: ['Leopardus pardalis'] });
    expect(texts.status).toBe(200);
    const text = (await texts.json()) as EmbeddingsResponse;
    expect(maxAbsDifference(text.embeddings[0], await direct.embedText('Leopardus pardalis'))).toBeLessThan(TOLERANCE);
    expect(held.runsStarted).toBe(1);

    held.runs('run');
    await expectEmbedding(await first, photos[0]);
    await expectEmbedding(await queued, photos[1]);
    expect(await readMetric(url, 'inference_items_embedded_total', { encoder: 'image' })).toBe(2);
  });

  it('fails the requests of a batch whose run fails with 503 MODEL_UNAVAILABLE; the next batch runs', async () => {
    const { service, held } = await startHeld();
    const { url } = service;

    const failing = embedImage(url, photos[0]);
    await held.started(1);
    held.runs('fail');
    await expectModelUnavailable(await failing, /image encoder failed: .*told to fail/);
    expect(await readiness(url)).toMatchObject({ status: 200, body: { status: 'ready' } });
    expect(await readMetric(url, 'inference_batch_failures_total', { encoder: 'image' })).toBe(1);

    held.runs('run');
    await expectEmbedding(await embedImage(url, photos[1]), photos[1]);
    expect(held.sessionsCreated).toBe(1);
  });

  it('fails the batch of a crashed worker with 503, is unready while a new worker re-creates the session, then serves again', async () => {
    const { service, held } = await startHeld();
    const { url } = service;
    held.creations('hold'); // the re-creation waits until the test lets it go

    const lost = embedImage(url, photos[0]);
    await held.started(1);
    held.runs('crash');
    await expectModelUnavailable(await lost, /image encoder failed: .*exited \(code 70\)/);

    const restarting = await readiness(url);
    expect(restarting.status).toBe(503);
    expect(restarting.body).toMatchObject({ status: 'loading', error: expect.stringMatching(/^image_encoder: .*exited/) });
    expect(await readMetric(url, 'inference_model_ready')).toBe(0);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);

    // A request during the re-creation waits for it: preprocessed, its batch taken, its run not started.
    held.runs('run');
    const waiting = embedImage(url, photos[1]);
    await eventually(async () => (await readMetric(url, 'inference_preprocess_duration_seconds_count')) === 2);
    expect(await readMetric(url, 'inference_queue_depth', { queue: 'image' })).toBe(0);
    expect(held.runsStarted).toBe(1);
    expect((await readiness(url)).body.status).toBe('loading');
    held.creations('proceed');
    await expectEmbedding(await waiting, photos[1]);
    expect(held.sessionsCreated).toBe(2);
    expect(await readiness(url)).toMatchObject({ status: 200, body: { status: 'ready' } });
    expect(await readMetric(url, 'inference_model_ready')).toBe(1);
    expect(service.logs.map((line) => line.msg)).toEqual(
      expect.arrayContaining([
        "image_encoder: the session's worker thread died; re-creating the session",
        'image_encoder: session re-created',
      ]),
    );
  });

  it('reports unready (failed) when the session cannot be re-created, and re-creates it on a later batch', async () => {
    const { service, held } = await startHeld();
    const { url } = service;
    held.creations('fail');

    const lost = embedImage(url, photos[0]);
    await held.started(1);
    held.runs('crash');
    await expectModelUnavailable(await lost, /exited \(code 70\)/);
    await eventually(async () => (await readiness(url)).body.status === 'failed');
    const failed = await readiness(url);
    expect(failed.status).toBe(503);
    expect(failed.body.error).toMatch(/^image_encoder: creating the session of .*image_encoder\.onnx failed: .*told to fail/);

    // Still failing: the request is answered at once, not left hanging.
    await expectModelUnavailable(await embedImage(url, photos[1]), /creating the session .* failed/);

    held.creations('proceed');
    held.runs('run');
    await expectEmbedding(await embedImage(url, photos[2]), photos[2]);
    expect(await readiness(url)).toMatchObject({ status: 200, body: { status: 'ready' } });
  });

  it('on shutdown finishes the batch on the encoder thread, then releases both encoder workers', async () => {
    const { service: running, held } = await startHeld();
    const accepted = embedImage(running.url, photos[3]);
    await held.started(1);

    const closed = running.close();
    let closeFinished = false;
    void closed.then(() => (closeFinished = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(closeFinished).toBe(false);
    expect(held.sessions.map((session) => session.state)).toEqual(['ready', 'ready']);

    held.runs('run');
    await expectEmbedding(await accepted, photos[3]);
    await closed;
    expect(held.sessions.map((session) => session.state)).toEqual(['released', 'released']);
    service = undefined;
  });
});
