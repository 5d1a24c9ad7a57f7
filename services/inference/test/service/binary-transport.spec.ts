// The binary path of /v1/embed/images and /v1/embed/texts through real HTTP against the committed stand-in package:
// raw float32 responses negotiated by Accept, one image as the raw request body, and errors that stay JSON.
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { EMBEDDING_HEADERS, type EmbeddingsResponse, type ModelInfo } from '../../src/client.ts';
import {
  distinctPhotos,
  eventually,
  expectErrorResponse,
  heldPackageLoader,
  imagesBody,
  metricValue,
  postJson,
  readMetric,
  readPhoto,
  RunGate,
  startTestService,
  type TestService,
  waitUntilReady,
} from './support.ts';

const MAX_BODY_BYTES = 512 * 1024;
const BINARY = { accept: 'application/octet-stream' };

// Batches of one: every item runs alone whatever the timing, so two requests for the same input give the same floats
// to the last bit and the transports can be compared exactly.
let service: TestService;
let photos: Buffer[];

beforeAll(async () => {
  service = await startTestService({ maxBatch: 1, textMaxBatch: 1, maxBodyBytes: MAX_BODY_BYTES, maxImagesPerRequest: 4 });
  photos = await distinctPhotos(3);
  await waitUntilReady(service.url);
});

afterAll(async () => {
  await service?.close();
});

/** A binary answer's floats, one Float32Array per embedding, after checking its status, type, length and headers. */
async function binaryEmbeddings(response: Response): Promise<{ dim: number; model: ModelInfo; vectors: Float32Array[] }> {
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('application/octet-stream');
  expect(response.headers.get('vary')).toMatch(/Accept/);
  expect(response.headers.get(EMBEDDING_HEADERS.normalization)).toBe('l2');
  const count = Number(response.headers.get(EMBEDDING_HEADERS.count));
  const dim = Number(response.headers.get(EMBEDDING_HEADERS.dim));
  const bytes = await response.arrayBuffer();
  expect(bytes.byteLength).toBe(count * dim * 4);
  expect(Number(response.headers.get('content-length'))).toBe(bytes.byteLength);
  const floats = new Float32Array(bytes);
  const model = JSON.parse(response.headers.get(EMBEDDING_HEADERS.model)!) as ModelInfo;
  return { dim, model, vectors: Array.from({ length: count }, (_, i) => floats.subarray(i * dim, (i + 1) * dim)) };
}

async function jsonEmbeddings(response: Response): Promise<EmbeddingsResponse> {
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  return (await response.json()) as EmbeddingsResponse;
}

/** POSTs `body` as it is (a copy: fetch's types take only ArrayBuffer-backed views) under `contentType`. */
function postRaw(url: string, body: Uint8Array, contentType: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': contentType, ...headers }, body: new Uint8Array(body) });
}


describe('binary embeddings responses (Accept: application/octet-stream)', () => {
  it('images: count × dim float32 little-endian equal to the JSON floats exactly, with the model in the headers', async () => {
    const json = await jsonEmbeddings(await postJson(`${service.url}/v1/embed/images`, imagesBody(photos)));
    const binary = await binaryEmbeddings(await postJson(`${service.url}/v1/embed/images`, imagesBody(photos), BINARY));
    expect(binary.dim).toBe(768);
    expect(binary.vectors).toHaveLength(photos.length);
    binary.vectors.forEach((vector, i) => expect(Array.from(vector), `image ${i}`).toEqual(json.embeddings[i]));
    expect(binary.model).toEqual(json.model);
    expect(binary.model).toMatchObject({ name: 'arbor-standin', version: '1', isStandIn: true, notice: expect.stringMatching(/NOT BioCLIP 2/) });
  });

  it('texts: the same floats as JSON, in order', async () => {
    const texts = ['a photo of Felis catus.', 'Ursus americanus', ''];
    const json = await jsonEmbeddings(await postJson(`${service.url}/v1/embed/texts`, { texts }));
    const binary = await binaryEmbeddings(await postJson(`${service.url}/v1/embed/texts`, { texts }, BINARY));
    expect(binary.vectors).toHaveLength(texts.length);
    binary.vectors.forEach((vector, i) => expect(Array.from(vector), `text ${i}`).toEqual(json.embeddings[i]));
    expect(binary.model).toEqual(json.model);
  });

  it('answers binary only when Accept prefers it: no Accept, */* and a preferred JSON stay JSON', async () => {
    const texts = { texts: ['Quercus robur'] };
    const url = `${service.url}/v1/embed/texts`;
    await jsonEmbeddings(await postJson(url, texts));
    await jsonEmbeddings(await postJson(url, texts, { accept: '*/*' }));
    await jsonEmbeddings(await postJson(url, texts, { accept: 'application/octet-stream;q=0.5, application/json' }));
    await binaryEmbeddings(await postJson(url, texts, { accept: 'application/json;q=0.5, application/octet-stream' }));
  });
});

describe('one image as the raw body', () => {
  it('embeds the bytes exactly as the base64 JSON path does, as image/* or application/octet-stream', async () => {
    const [photo] = photos;
    const [reference] = (await jsonEmbeddings(await postJson(`${service.url}/v1/embed/images`, imagesBody([photo!])))).embeddings;
    for (const contentType of ['image/jpeg', 'application/octet-stream', 'IMAGE/JPEG; charset=binary']) {
      const json = await jsonEmbeddings(await postRaw(`${service.url}/v1/embed/images`, photo!, contentType));
      expect(json.embeddings, contentType).toEqual([reference]);
      const binary = await binaryEmbeddings(await postRaw(`${service.url}/v1/embed/images`, photo!, contentType, BINARY));
      expect(binary.vectors.map((v) => Array.from(v)), contentType).toEqual([reference]);
    }
  });

  it('decodes other formats sent under their own type (PNG)', async () => {
    const png = await sharp(photos[1]).png().toBuffer();
    const [reference] = (await jsonEmbeddings(await postJson(`${service.url}/v1/embed/images`, imagesBody([png])))).embeddings;
    expect((await jsonEmbeddings(await postRaw(`${service.url}/v1/embed/images`, png, 'image/png'))).embeddings).toEqual([reference]);
  });

  it('is counted under the route in the request metrics', async () => {
    const before = metricValue(await (await fetch(`${service.url}/metrics`)).text(), 'inference_http_request_duration_seconds_count', {
      route: '/v1/embed/images',
      status: '200',
      method: 'POST',
    });
    await binaryEmbeddings(await postRaw(`${service.url}/v1/embed/images`, photos[2]!, 'image/jpeg', BINARY));
    const after = await readMetric(service.url, 'inference_http_request_duration_seconds_count', { route: '/v1/embed/images', status: '200', method: 'POST' });
    expect(after).toBe((before ?? 0) + 1);
  });
});

describe('errors stay JSON', () => {
  it('answers 400 INVALID_REQUEST for an empty body', async () => {
    await expectErrorResponse(await postRaw(`${service.url}/v1/embed/images`, new Uint8Array(0), 'image/jpeg', BINARY), 400, 'INVALID_REQUEST');
    const noBody = await fetch(`${service.url}/v1/embed/images`, { method: 'POST', headers: { 'content-type': 'application/octet-stream', ...BINARY } });
    await expectErrorResponse(noBody, 400, 'INVALID_REQUEST');
  });

  it('answers 400 with the preprocessing code and index 0 for bytes that are not a decodable image', async () => {
    const truncated = (await readPhoto('pybioclip/mycat.jpg')).subarray(0, 2000);
    expect((await expectErrorResponse(await postRaw(`${service.url}/v1/embed/images`, truncated, 'image/jpeg', BINARY), 400, 'CORRUPT_IMAGE')).details).toEqual({ index: 0 });
    const text = Buffer.from('this is not an image at all, just some text bytes');
    expect((await expectErrorResponse(await postRaw(`${service.url}/v1/embed/images`, text, 'application/octet-stream', BINARY), 400, 'UNSUPPORTED_IMAGE')).details).toEqual({
      index: 0,
    });
  });

  it('answers 413 BODY_TOO_LARGE for a raw body over MAX_BODY_BYTES', async () => {
    await expectErrorResponse(await postRaw(`${service.url}/v1/embed/images`, Buffer.alloc(MAX_BODY_BYTES + 1, 7), 'image/jpeg', BINARY), 413, 'BODY_TOO_LARGE');
  });

  it('answers 415 for other content types, and for raw bodies where only JSON is taken', async () => {
    const photo = photos[0]!;
    const images = await expectErrorResponse(await postRaw(`${service.url}/v1/embed/images`, photo, 'text/plain', BINARY), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expect(images.message).toMatch(/application\/json, or one image file as image\/jpeg/);
    await expectErrorResponse(await postRaw(`${service.url}/v1/embed/images`, photo, 'multipart/form-data; boundary=x'), 415, 'UNSUPPORTED_MEDIA_TYPE');
    await expectErrorResponse(await postRaw(`${service.url}/v1/embed/texts`, photo, 'application/octet-stream', BINARY), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers 400 INVALID_REQUEST for a bad JSON request that asked for binary', async () => {
    await expectErrorResponse(await postJson(`${service.url}/v1/embed/texts`, { texts: [] }, BINARY), 400, 'INVALID_REQUEST');
  });
});

describe('refusals stay JSON', () => {
  let other: TestService | undefined;
  afterEach(async () => {
    await other?.close();
    other = undefined;
  });

  it('429 QUEUE_FULL with Retry-After for a raw image that asked for binary', async () => {
    const gate = new RunGate('image_encoder');
    other = await startTestService({ maxBatch: 1, maxQueue: 1, maxImagesPerRequest: 1 }, { sessions: { factory: gate.factory() } });
    await waitUntilReady(other.url);
    const url = `${other.url}/v1/embed/images`;
    const send = (photo: Buffer) => postRaw(url, photo, 'image/jpeg', BINARY);
    const running = send(photos[0]!);
    await gate.started();
    const queued = send(photos[1]!);
    await eventually(async () => (await readMetric(other!.url, 'inference_queue_depth', { queue: 'image' })) === 1);

    const refused = await send(photos[2]!);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await expectErrorResponse(refused, 429, 'QUEUE_FULL');
    gate.open();
    await binaryEmbeddings(await running);
    await binaryEmbeddings(await queued);
  });

  it('503 MODEL_NOT_READY while the model loads, for images and texts that asked for binary', async () => {
    const { loadPackage, release } = heldPackageLoader();
    other = await startTestService({ modelLoad: 'eager' }, { loadPackage });
    const image = await postRaw(`${other.url}/v1/embed/images`, photos[0]!, 'image/jpeg', BINARY);
    await expectErrorResponse(image, 503, 'MODEL_NOT_READY');
    await expectErrorResponse(await postJson(`${other.url}/v1/embed/texts`, { texts: ['x'] }, BINARY), 503, 'MODEL_NOT_READY');
    release();
    await waitUntilReady(other.url);
  });
});
