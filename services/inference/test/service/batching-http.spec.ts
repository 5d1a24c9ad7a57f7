// Dynamic micro-batching across concurrent HTTP requests, and back-pressure when the queue is full.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { EmbeddingsResponse, ErrorResponse } from '../../src/client.ts';
import {
  DirectEncoder,
  distinctPhotos,
  dot,
  eventually,
  imagesBody,
  maxAbsDifference,
  postJson,
  readMetric,
  RunGate,
  startTestService,
  waitUntilReady,
  type TestService,
} from './support.ts';

const TOLERANCE = 1e-5;
const CLIENTS = 16;

let direct: DirectEncoder;
let photos: Buffer[];
let references: Float32Array[];

beforeAll(async () => {
  direct = await DirectEncoder.open();
  photos = await distinctPhotos(CLIENTS);
  references = [];
  for (const photo of photos) references.push(await direct.embedImage(photo));
});

afterAll(async () => {
  await direct?.release();
});

let service: TestService | undefined;
afterEach(async () => {
  await service?.close();
  service = undefined;
});

describe('micro-batching', () => {
  it('batches 16 concurrent requests together and gives each request its own embedding', async () => {
    // maxBatch equals the number of clients and the wait is long, so the batch runs exactly when all
    // 16 images have arrived: the outcome does not depend on how fast the machine is.
    service = await startTestService({ maxBatch: CLIENTS, maxWaitMs: 60_000, preprocessWorkers: 2 });
    await waitUntilReady(service.url);
    const url = service.url;
    const responses = await Promise.all(photos.map((photo) => postJson(`${url}/v1/embed/images`, imagesBody([photo]))));
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as EmbeddingsResponse[];
    expect(responses.map((r) => r.status)).toEqual(Array(CLIENTS).fill(200));

    bodies.forEach((body, i) => {
      const embedding = body.embeddings[0];
      expect(maxAbsDifference(embedding, references[i]), `request ${i}`).toBeLessThan(TOLERANCE);
      // Its own photo, not a neighbour's: the best match among all references is reference i.
      const best = references.map((reference) => dot(embedding, reference)).reduce((b, v, j, all) => (v > all[b] ? j : b), 0);
      expect(best).toBe(i);
    });

    expect(await readMetric(url, 'inference_batch_size_count', { encoder: 'image' })).toBe(1);
    expect(await readMetric(url, 'inference_batch_size_sum', { encoder: 'image' })).toBe(CLIENTS);
    expect(await readMetric(url, 'inference_batch_size_bucket', { encoder: 'image', le: '1' })).toBe(0);
  });

  it('runs a partial batch once the oldest item has waited maxWaitMs', async () => {
    service = await startTestService({ maxBatch: 64, maxWaitMs: 5 });
    await waitUntilReady(service.url);
    const response = await postJson(`${service.url}/v1/embed/images`, imagesBody(photos.slice(0, 3)));
    expect(response.status).toBe(200);
    expect((await response.json()).embeddings).toHaveLength(3);
  });
});

describe('back-pressure', () => {
  it('refuses requests beyond maxQueue with 429 and Retry-After, and completes every accepted one', async () => {
    const gate = new RunGate('image_encoder');
    service = await startTestService({ maxBatch: 1, maxQueue: 4, maxImagesPerRequest: 2, maxTextsPerRequest: 4 }, { sessions: { factory: gate.factory() } });
    await waitUntilReady(service.url);
    const url = service.url;
    const send = (i: number) => postJson(`${url}/v1/embed/images`, imagesBody([photos[i]]));

    // One request enters the encoder and is held there; four more fill the queue.
    const accepted = [send(0)];
    await gate.started();
    for (let i = 1; i <= 4; i++) accepted.push(send(i));
    await eventually(async () => (await readMetric(url, 'inference_queue_depth', { queue: 'image' })) === 4);

    const refused = await Promise.all([5, 6, 7].map(send));
    for (const response of refused) {
      expect(response.status).toBe(429);
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      const body = (await response.json()) as ErrorResponse;
      expect(body.error).toMatchObject({ code: 'QUEUE_FULL', details: { queue: 'image', capacity: 4 } });
    }
    // A request for more images than fit is refused whole, not half-embedded.
    const tooMany = await postJson(`${url}/v1/embed/images`, imagesBody(photos.slice(8, 10)));
    expect(tooMany.status).toBe(429);
    await tooMany.arrayBuffer();
    expect(await readMetric(url, 'inference_queue_rejections_total', { queue: 'image' })).toBe(4);

    gate.open();
    const responses = await Promise.all(accepted);
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as EmbeddingsResponse[];
    bodies.forEach((body, i) => expect(maxAbsDifference(body.embeddings[0], references[i])).toBeLessThan(TOLERANCE));
    expect(await readMetric(url, 'inference_items_embedded_total', { encoder: 'image' })).toBe(5);
  });
});
