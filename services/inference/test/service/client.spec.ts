// InferenceClient: against scripted HTTP answers (retries, timeouts, typed errors) and against the real service.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { InferenceClient, InferenceClientError, parseRetryAfter } from '../../src/client.ts';
import {
  DirectEncoder,
  distinctPhotos,
  eventually,
  imagesBody,
  maxAbsDifference,
  norm,
  postJson,
  readMetric,
  RunGate,
  startTestService,
  waitUntilReady,
  type TestService,
} from './support.ts';

interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Never answer. */
  hang?: boolean;
}

/** A server that replies with the scripted answers in turn (the last one repeats) and records requests. */
async function scriptedServer(answers: Answer[]) {
  const requests: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      requests.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      const answer = answers[Math.min(requests.length - 1, answers.length - 1)];
      if (answer.hang) return;
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(answer.body ?? '{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const OK_EMBEDDINGS = JSON.stringify({
  model: { name: 'm', version: '1', isStandIn: true },
  normalization: 'l2',
  dim: 2,
  embeddings: [[0.6, 0.8]],
});
const queueFull = (retryAfter: string): Answer => ({
  status: 429,
  headers: { 'retry-after': retryAfter },
  body: JSON.stringify({ error: { code: 'QUEUE_FULL', message: 'image queue is full' } }),
});

async function failure(promise: Promise<unknown>): Promise<InferenceClientError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InferenceClientError);
  return error as InferenceClientError;
}

describe('InferenceClient against scripted answers', () => {
  let scripted: Awaited<ReturnType<typeof scriptedServer>> | undefined;
  afterEach(async () => {
    await scripted?.close();
    scripted = undefined;
  });

  it('retries 429 and 503 as Retry-After says, then returns typed embeddings; the request id goes along', async () => {
    scripted = await scriptedServer([queueFull('0'), { status: 503, headers: { 'retry-after': '0' }, body: '{}' }, { status: 200, body: OK_EMBEDDINGS }]);
    const client = new InferenceClient({ baseUrl: `${scripted.url}/`, requestId: () => 'req-7' });
    const result = await client.embedImages([Buffer.from([1, 2, 3])]);
    expect(result.vectors).toEqual([Float32Array.from([0.6, 0.8])]);
    expect(result.model.isStandIn).toBe(true);
    expect(scripted.requests).toHaveLength(3);
    for (const request of scripted.requests) {
      expect(request).toMatchObject({ method: 'POST', url: '/v1/embed/images', headers: { 'x-request-id': 'req-7' } });
      expect(JSON.parse(request.body)).toEqual({ images: ['AQID'] });
    }
  });

  it('gives up after maxRetries with the service error code', async () => {
    scripted = await scriptedServer([queueFull('0')]);
    const error = await failure(new InferenceClient({ baseUrl: scripted.url, maxRetries: 2 }).embedTexts(['a']));
    expect(error).toMatchObject({ code: 'QUEUE_FULL', status: 429, info: { retryAfterSeconds: 0, attempts: 3 } });
    expect(scripted.requests).toHaveLength(3);
  });

  it('does not retry sooner than Retry-After: a longer wait than allowed ends the call at once', async () => {
    scripted = await scriptedServer([queueFull('120')]);
    const error = await failure(new InferenceClient({ baseUrl: scripted.url, maxRetryDelayMs: 5_000 }).embedTexts(['a']));
    expect(error).toMatchObject({ code: 'QUEUE_FULL', info: { retryAfterSeconds: 120, attempts: 1 } });
  });

  it('does not retry client errors', async () => {
    scripted = await scriptedServer([{ status: 400, body: JSON.stringify({ error: { code: 'CORRUPT_IMAGE', message: 'bad', details: { index: 0 } } }) }]);
    const error = await failure(new InferenceClient({ baseUrl: scripted.url }).embedImages([Buffer.from('x')]));
    expect(error).toMatchObject({ code: 'CORRUPT_IMAGE', status: 400, message: 'bad', info: { details: { index: 0 }, attempts: 1 } });
    expect(scripted.requests).toHaveLength(1);
  });

  it('times out with TIMEOUT, and a caller abort is ABORTED', async () => {
    scripted = await scriptedServer([{ status: 200, hang: true }]);
    const timedOut = await failure(new InferenceClient({ baseUrl: scripted.url, timeoutMs: 200 }).embedTexts(['a']));
    expect(timedOut.code).toBe('TIMEOUT');
    const controller = new AbortController();
    const call = new InferenceClient({ baseUrl: scripted.url }).embedTexts(['a'], { signal: controller.signal });
    controller.abort();
    expect((await failure(call)).code).toBe('ABORTED');
  });

  it('reports NETWORK when nothing listens and BAD_RESPONSE for answers it cannot read', async () => {
    scripted = await scriptedServer([{ status: 200, body: 'not json' }, { status: 200, body: '{"embeddings": 3}' }]);
    const client = new InferenceClient({ baseUrl: scripted.url });
    expect((await failure(client.embedTexts(['a']))).code).toBe('BAD_RESPONSE');
    expect((await failure(client.embedTexts(['a']))).code).toBe('BAD_RESPONSE');
    const url = scripted.url;
    await scripted.close();
    scripted = undefined;
    expect((await failure(new InferenceClient({ baseUrl: url }).health())).code).toBe('NETWORK');
  });

  it('parses Retry-After as seconds or as an HTTP date', () => {
    expect(parseRetryAfter('3')).toBe(3);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5);
  });
});

describe('InferenceClient against the real service', () => {
  let direct: DirectEncoder;
  let photos: Buffer[];
  let service: TestService | undefined;

  beforeAll(async () => {
    direct = await DirectEncoder.open();
    photos = await distinctPhotos(3);
  });
  afterAll(async () => {
    await direct?.release();
  });
  afterEach(async () => {
    await service?.close();
    service = undefined;
  });

  it('embeds images and texts as unit Float32Arrays equal to direct ONNX Runtime output', async () => {
    service = await startTestService();
    await waitUntilReady(service.url);
    const client = new InferenceClient({ baseUrl: service.url });
    const images = await client.embedImages(photos);
    expect(images).toMatchObject({ normalization: 'l2', dim: 768, model: { name: 'arbor-standin', isStandIn: true } });
    for (let i = 0; i < photos.length; i++) {
      expect(images.vectors[i]).toBeInstanceOf(Float32Array);
      expect(Math.abs(norm(images.vectors[i]) - 1)).toBeLessThan(1e-6);
      expect(maxAbsDifference(images.vectors[i], await direct.embedImage(photos[i]))).toBeLessThan(1e-5);
    }
    const texts = await client.embedTexts(['Ursus americanus']);
    expect(maxAbsDifference(texts.vectors[0], await direct.embedText('Ursus americanus'))).toBeLessThan(1e-5);
    const error = await failure(client.embedImages([Buffer.from('not an image')]));
    expect(error).toMatchObject({ code: 'UNSUPPORTED_IMAGE', status: 400 });
  });

  it('health(): not ready before a lazy load, ready after, never throwing for a 503', async () => {
    service = await startTestService({ modelLoad: 'lazy' });
    const client = new InferenceClient({ baseUrl: service.url });
    expect(await client.health()).toMatchObject({ live: true, ready: false, readiness: { status: 'not_loaded' } });
    await client.embedTexts(['x']);
    expect(await client.health()).toMatchObject({ live: true, ready: true, readiness: { status: 'ready', model: { isStandIn: true } } });
  });

  it('waits out a full queue (429 + Retry-After) and then succeeds', async () => {
    const gate = new RunGate('image_encoder');
    service = await startTestService({ maxBatch: 1, maxQueue: 1, maxImagesPerRequest: 1, maxTextsPerRequest: 1 }, { sessions: { factory: gate.factory() } });
    await waitUntilReady(service.url);
    const url = service.url;
    const running = postJson(`${url}/v1/embed/images`, imagesBody([photos[0]]));
    await gate.started();
    const queued = postJson(`${url}/v1/embed/images`, imagesBody([photos[1]]));
    await eventually(async () => (await readMetric(url, 'inference_queue_depth', { queue: 'image' })) === 1);

    const client = new InferenceClient({ baseUrl: url, maxRetries: 5 });
    const call = client.embedImages([photos[2]]);
    await eventually(async () => (await readMetric(url, 'inference_queue_rejections_total', { queue: 'image' })) === 1);
    gate.open();
    const result = await call;
    expect(maxAbsDifference(result.vectors[0], await direct.embedImage(photos[2]))).toBeLessThan(1e-5);
    expect((await running).status).toBe(200);
    expect((await queued).status).toBe(200);
  });
});
