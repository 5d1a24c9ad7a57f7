// POST /v1/embed/images and /v1/embed/texts through real HTTP against the committed stand-in package.
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { EmbeddingsResponse } from '../../src/client.ts';
import {
  DirectEncoder,
  expectErrorResponse,
  imagesBody,
  maxAbsDifference,
  metricValue,
  norm,
  postJson,
  readPhoto,
  startTestService,
  type TestService,
  waitUntilReady,
} from './support.ts';

// Same model, same preprocessing, but the service runs with its own thread count and batch shape,
// which may change float summation order in the last bits.
const TOLERANCE = 1e-5;
const MAX_BODY_BYTES = 512 * 1024;

let service: TestService;
let direct: DirectEncoder;

beforeAll(async () => {
  service = await startTestService({ maxBodyBytes: MAX_BODY_BYTES, maxImagesPerRequest: 4, maxTextsPerRequest: 8, maxTextChars: 200 });
  direct = await DirectEncoder.open();
  await waitUntilReady(service.url);
});

afterAll(async () => {
  await service?.close();
  await direct?.release();
});


describe('POST /v1/embed/images', () => {
  it('embeds a real photo as a 768-d unit vector equal to the direct ONNX Runtime output', async () => {
    const photo = await readPhoto('pybioclip/mycat.jpg');
    const response = await postJson(`${service.url}/v1/embed/images`, imagesBody([photo]));
    expect(response.status).toBe(200);
    const body = (await response.json()) as EmbeddingsResponse;
    expect(body.normalization).toBe('l2');
    expect(body.dim).toBe(768);
    expect(body.embeddings).toHaveLength(1);
    expect(body.embeddings[0]).toHaveLength(768);
    expect(Math.abs(norm(body.embeddings[0]) - 1)).toBeLessThan(1e-6);
    expect(maxAbsDifference(body.embeddings[0], await direct.embedImage(photo))).toBeLessThan(TOLERANCE);
  });

  it('labels every response with the model, and the stand-in as not BioCLIP 2', async () => {
    const response = await postJson(`${service.url}/v1/embed/images`, imagesBody([await readPhoto('pybioclip/mycat.jpg')]));
    const { model } = (await response.json()) as EmbeddingsResponse;
    expect(model).toMatchObject({ name: 'arbor-standin', version: '1', isStandIn: true });
    expect(model.notice).toMatch(/NOT BioCLIP 2/);
  });

  it('keeps input order for several images in one request', async () => {
    const photos = await Promise.all(['cameratrapai/ocelot.jpg', 'pybioclip/mycat.jpg'].map(readPhoto));
    const small = await Promise.all(photos.map((p) => sharp(p).resize({ width: 400 }).jpeg().toBuffer()));
    const body = (await (await postJson(`${service.url}/v1/embed/images`, imagesBody(small))).json()) as EmbeddingsResponse;
    expect(body.embeddings).toHaveLength(2);
    for (let i = 0; i < small.length; i++) {
      expect(maxAbsDifference(body.embeddings[i], await direct.embedImage(small[i]))).toBeLessThan(TOLERANCE);
    }
  });

  it('answers 400 with the preprocessing code and the image index for bytes that are not an image', async () => {
    const photo = await sharp(await readPhoto('pybioclip/mycat.jpg')).resize({ width: 64 }).jpeg().toBuffer();
    const garbage = Buffer.from('this is not an image at all, just some text bytes');
    const error = await expectErrorResponse(await postJson(`${service.url}/v1/embed/images`, imagesBody([photo, garbage])), 400, 'UNSUPPORTED_IMAGE');
    expect(error.details).toEqual({ index: 1 });
  });

  it('answers 400 CORRUPT_IMAGE for a truncated JPEG', async () => {
    const photo = await readPhoto('pybioclip/mycat.jpg');
    await expectErrorResponse(await postJson(`${service.url}/v1/embed/images`, imagesBody([photo.subarray(0, 2000)])), 400, 'CORRUPT_IMAGE');
  });

  it('answers 400 for an empty list, a missing field, or a non-string image', async () => {
    await expectErrorResponse(await postJson(`${service.url}/v1/embed/images`, { images: [] }), 400, 'INVALID_REQUEST');
    await expectErrorResponse(await postJson(`${service.url}/v1/embed/images`, { pictures: ['x'] }), 400, 'INVALID_REQUEST');
    await expectErrorResponse(await postJson(`${service.url}/v1/embed/images`, [1, 2]), 400, 'INVALID_REQUEST');
    await expectErrorResponse(await postJson(`${service.url}/v1/embed/images`, { images: [42] }), 400, 'INVALID_REQUEST');
  });

  it('answers 400 TOO_MANY_ITEMS above the per-request image limit', async () => {
    const error = await expectErrorResponse(await postJson(`${service.url}/v1/embed/images`, { images: ['AA==', 'AA==', 'AA==', 'AA==', 'AA=='] }), 400, 'TOO_MANY_ITEMS');
    expect(error.details).toEqual({ max: 4 });
  });

  it('answers 400 INVALID_BASE64 for text that is not base64', async () => {
    const error = await expectErrorResponse(await postJson(`${service.url}/v1/embed/images`, { images: ['not base64!'] }), 400, 'INVALID_BASE64');
    expect(error.details).toEqual({ index: 0 });
  });

  it('answers 413 BODY_TOO_LARGE for a body over the limit', async () => {
    const huge = Buffer.alloc(MAX_BODY_BYTES * 2, 7).toString('base64');
    await expectErrorResponse(await postJson(`${service.url}/v1/embed/images`, { images: [huge] }), 413, 'BODY_TOO_LARGE');
  });

  it('answers 400 INVALID_JSON for a body that is not JSON, and 415 for another content type', async () => {
    const notJson = await fetch(`${service.url}/v1/embed/images`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"images": [' });
    await expectErrorResponse(notJson, 400, 'INVALID_JSON');
    // A raw image body (image/*, application/octet-stream) is the binary path: binary-transport.spec.ts.
    const text = await fetch(`${service.url}/v1/embed/images`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: new Uint8Array(await readPhoto('pybioclip/mycat.jpg')),
    });
    await expectErrorResponse(text, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });
});

describe('POST /v1/embed/texts', () => {
  it('embeds texts as unit vectors equal to the direct ONNX Runtime output, in order', async () => {
    const texts = ['a photo of Felis catus.', 'Animalia Chordata Mammalia Carnivora Felidae Leopardus pardalis with common name ocelot', ''];
    const response = await postJson(`${service.url}/v1/embed/texts`, { texts });
    expect(response.status).toBe(200);
    const body = (await response.json()) as EmbeddingsResponse;
    expect(body).toMatchObject({ normalization: 'l2', dim: 768, model: { isStandIn: true } });
    expect(body.embeddings).toHaveLength(texts.length);
    for (let i = 0; i < texts.length; i++) {
      expect(Math.abs(norm(body.embeddings[i]) - 1)).toBeLessThan(1e-6);
      expect(maxAbsDifference(body.embeddings[i], await direct.embedText(texts[i]))).toBeLessThan(TOLERANCE);
    }
  });

  it('answers 400 for bad text lists', async () => {
    await expectErrorResponse(await postJson(`${service.url}/v1/embed/texts`, { texts: [] }), 400, 'INVALID_REQUEST');
    await expectErrorResponse(await postJson(`${service.url}/v1/embed/texts`, { texts: ['ok', null] }), 400, 'INVALID_REQUEST');
    await expectErrorResponse(await postJson(`${service.url}/v1/embed/texts`, { texts: Array(9).fill('x') }), 400, 'TOO_MANY_ITEMS');
    const long = await expectErrorResponse(await postJson(`${service.url}/v1/embed/texts`, { texts: ['ok', 'y'.repeat(201)] }), 400, 'TEXT_TOO_LONG');
    expect(long.details).toEqual({ index: 1, max: 200 });
  });
});

describe('service endpoints', () => {
  it('GET /healthz and /readyz answer 200 once loaded, naming the model and providers', async () => {
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${service.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'ready',
      model: { name: 'arbor-standin', isStandIn: true },
      providers: { image: ['cpu'], text: ['cpu'] },
    });
  });

  it('answers unknown routes with a typed 404', async () => {
    await expectErrorResponse(await fetch(`${service.url}/v1/nothing-here`), 404, 'NOT_FOUND');
  });

  it('echoes X-Request-Id and stamps it on the request log lines', async () => {
    const requestId = 'test-request-0042';
    const response = await postJson(`${service.url}/v1/embed/texts`, { texts: ['a'] }, { 'x-request-id': requestId });
    expect(response.headers.get('x-request-id')).toBe(requestId);
    await response.arrayBuffer();
    const lines = service.logs.filter((line) => line.requestId === requestId);
    expect(lines.some((line) => line.msg === 'request finished' && line.status === 200 && line.path === '/v1/embed/texts')).toBe(true);
  });

  it('replaces an unusable X-Request-Id with a generated one', async () => {
    const response = await fetch(`${service.url}/healthz`, { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('GET /metrics exposes latency histograms, batch sizes and queue depths', async () => {
    const response = await fetch(`${service.url}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    for (const name of [
      'inference_http_request_duration_seconds_bucket',
      'inference_batch_duration_seconds_bucket',
      'inference_preprocess_duration_seconds_bucket',
      'inference_batch_size_bucket',
    ]) {
      expect(text).toContain(name);
    }
    expect(metricValue(text, 'inference_http_request_duration_seconds_count', { route: '/v1/embed/images', status: '200', method: 'POST' })).toBeGreaterThan(0);
    expect(metricValue(text, 'inference_batch_size_count', { encoder: 'text' })).toBeGreaterThan(0);
    expect(metricValue(text, 'inference_queue_depth', { queue: 'image' })).toBe(0);
    expect(metricValue(text, 'inference_model_ready')).toBe(1);
  });
});
