// InferenceClient: against scripted HTTP answers (retries, timeouts, typed errors) and against the real service.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { modelHeaderValue } from '../../src/binary-transport.ts';
import {
  decodeBinaryEmbeddings,
  EMBEDDING_HEADERS,
  InferenceClient,
  InferenceClientError,
  parseRetryAfter,
  type Embeddings,
  type ModelInfo,
} from '../../src/client.ts';
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

/** The headers of a binary embeddings answer, the model as the service writes it (non-ASCII escaped). */
function binaryHeaders(count: number, dim: number, model: ModelInfo): Record<string, string> {
  return {
    'content-type': 'application/octet-stream',
    [EMBEDDING_HEADERS.count]: String(count),
    [EMBEDDING_HEADERS.dim]: String(dim),
    [EMBEDDING_HEADERS.normalization]: 'l2',
    [EMBEDDING_HEADERS.model]: modelHeaderValue(model),
  };
}

/** A fetch that answers every call with 200 and these bytes and headers. */
function answering(body: Uint8Array<ArrayBuffer>, headers: Record<string, string>): typeof fetch {
  return async () => new Response(body, { status: 200, headers });
}

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

  it('retries 429 and 503 as Retry-After says, then returns typed embeddings; the request id and the raw image go along', async () => {
    scripted = await scriptedServer([queueFull('0'), { status: 503, headers: { 'retry-after': '0' }, body: '{}' }, { status: 200, body: OK_EMBEDDINGS }]);
    const client = new InferenceClient({ baseUrl: `${scripted.url}/`, requestId: () => 'req-7' });
    const result = await client.embedImages([Buffer.from([1, 2, 3])]);
    expect(result.vectors).toEqual([Float32Array.from([0.6, 0.8])]);
    expect(result.model.isStandIn).toBe(true);
    expect(scripted.requests).toHaveLength(3);
    for (const request of scripted.requests) {
      expect(request).toMatchObject({
        method: 'POST',
        url: '/v1/embed/images',
        headers: { 'x-request-id': 'req-7', 'content-type': 'application/octet-stream', accept: 'application/octet-stream, application/json;q=0.5' },
        body: '\x01\x02\x03',
      });
    }
  });

  it('sends several images as base64 JSON; transport "json" sends JSON and asks for JSON only', async () => {
    scripted = await scriptedServer([{ status: 200, body: OK_EMBEDDINGS }]);
    const binary = new InferenceClient({ baseUrl: scripted.url });
    await binary.embedImages([Buffer.from([1, 2, 3]), Buffer.from([4])]);
    const json = new InferenceClient({ baseUrl: scripted.url, transport: 'json' });
    await json.embedImages([Buffer.from([1, 2, 3])]);
    await json.embedTexts(['a']);
    expect(scripted.requests.map(({ headers, body }) => ({ contentType: headers['content-type'], accept: headers.accept, body: JSON.parse(body) as unknown }))).toEqual([
      { contentType: 'application/json', accept: 'application/octet-stream, application/json;q=0.5', body: { images: ['AQID', 'BA=='] } },
      { contentType: 'application/json', accept: 'application/json', body: { images: ['AQID'] } },
      { contentType: 'application/json', accept: 'application/json', body: { texts: ['a'] } },
    ]);
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

  it('decodes a binary answer (float32 little-endian + Arbor-* headers) into Embeddings, at any byte offset', async () => {
    const headers = binaryHeaders(2, 2, { name: 'modèle 🌳', version: '1', isStandIn: true, notice: 'not BioCLIP 2' });
    expect(headers[EMBEDDING_HEADERS.model]).toMatch(/^[\x20-\x7e]+$/);
    const floats = Float32Array.from([0.6, 0.8, 1, 0]);
    const client = new InferenceClient({ baseUrl: 'http://inference.test', fetch: answering(new Uint8Array(floats.buffer), headers) });
    const expected: Embeddings = {
      model: { name: 'modèle 🌳', version: '1', isStandIn: true, notice: 'not BioCLIP 2' },
      normalization: 'l2',
      dim: 2,
      vectors: [floats.slice(0, 2), floats.slice(2)],
    };
    expect(await client.embedTexts(['a', 'b'])).toEqual(expected);
    // A Buffer slice of Node's pool may start at an odd offset, where no Float32Array view can: the floats must still be right.
    const unaligned = Buffer.alloc(1 + floats.byteLength);
    Buffer.from(floats.buffer).copy(unaligned, 1);
    expect(decodeBinaryEmbeddings(unaligned.subarray(1), new Headers(headers))).toEqual(expected);
  });

  it('rejects a binary answer that is not count × dim × 4 bytes, or lacks its headers, with BAD_RESPONSE', async () => {
    const model = { name: 'm', version: '1', isStandIn: true };
    const truncated = new InferenceClient({ baseUrl: 'http://inference.test', fetch: answering(new Uint8Array(12), binaryHeaders(2, 2, model)) });
    const error = await failure(truncated.embedImages([Buffer.from([1])]));
    expect(error).toMatchObject({ code: 'BAD_RESPONSE', message: expect.stringMatching(/12 bytes .* 2 × 2 float32 are 16 bytes/) });
    const { [EMBEDDING_HEADERS.model]: _, ...withoutModel } = binaryHeaders(1, 2, model);
    const headless = new InferenceClient({ baseUrl: 'http://inference.test', fetch: answering(new Uint8Array(8), withoutModel) });
    expect((await failure(headless.embedTexts(['a']))).code).toBe('BAD_RESPONSE');
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

  it('decodes the binary and the JSON transport identically; one image goes raw, several as JSON', async () => {
    // Batches of one: the same input gives the same floats to the last bit whatever the request timing.
    service = await startTestService({ maxBatch: 1, textMaxBatch: 1 });
    await waitUntilReady(service.url);
    const exchanges: { requestType: string | null; responseType: string | null }[] = [];
    const recordingFetch: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      exchanges.push({ requestType: new Headers(init?.headers).get('content-type'), responseType: response.headers.get('content-type') });
      return response;
    };
    const binary = new InferenceClient({ baseUrl: service.url, fetch: recordingFetch });
    const json = new InferenceClient({ baseUrl: service.url, transport: 'json' });

    expect(await binary.embedImages([photos[0]!])).toEqual(await json.embedImages([photos[0]!]));
    expect(await binary.embedImages(photos)).toEqual(await json.embedImages(photos));
    const texts = ['Ursus americanus', 'a photo of Felis catus.'];
    const fromBinary = await binary.embedTexts(texts);
    expect(fromBinary).toEqual(await json.embedTexts(texts));
    expect(fromBinary).toMatchObject({ dim: 768, model: { isStandIn: true } });
    expect(exchanges).toEqual([
      { requestType: 'application/octet-stream', responseType: 'application/octet-stream' },
      { requestType: 'application/json', responseType: 'application/octet-stream' },
      { requestType: 'application/json', responseType: 'application/octet-stream' },
    ]);
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
