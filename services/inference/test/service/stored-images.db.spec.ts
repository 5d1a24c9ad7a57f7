// POST /v1/embed/images {"imageIds": [...]} against a migrated database (PGlite, or the real server in
// TEST_DATABASE_URL) and a temporary image file store holding committed test photos.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { ImageFileStore } from '@arbor/store/image-files.ts';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { openTestDatabase, type TestDatabase } from '../../../../test/support/test-database.ts';
import { InferenceClient, InferenceClientError } from '../../src/client.ts';
import type { EmbeddingsResponse } from '../../src/client.ts';
import { createLogger } from '../../src/logger.ts';
import { HttpError } from '../../src/http-errors.ts';
import { StoredImages } from '../../src/stored-images/stored-images.ts';
import {
  expectErrorResponse,
  imagesBody,
  maxAbsDifference,
  postJson,
  readPhoto,
  startTestService,
  type TestService,
  waitUntilReady,
} from './support.ts';

const PHOTOS = ['pybioclip/mycat.jpg', 'cameratrapai/ocelot.jpg', 'cameratrapai/american_black_bear.jpg'];
const MAX_IMAGES = 4;
// Each request alone, same batch shape: the two paths run the same tensors through the same session.
const TOLERANCE = 1e-6;
const silent = createLogger('silent');

let db: TestDatabase;
let imageDir: string;
let files: ImageFileStore;
let storedImages: StoredImages;
let service: TestService;
let photos: Buffer[];
/** Image ids of PHOTOS, in order. */
let ids: string[];
let metadataOnlyId: string;
let fileMissingId: string;
let corruptId: string;

async function insertImage(sha256: string | null, byteSize?: number): Promise<string> {
  const { rows } = await db.store.pool.query<{ id: string }>(
    `INSERT INTO image (sha256, mime_type, byte_size, license) VALUES ($1, 'image/jpeg', $2, 'test') RETURNING id`,
    [sha256, byteSize ?? null],
  );
  return rows[0].id;
}

beforeAll(async () => {
  db = await openTestDatabase();
  imageDir = await mkdtemp(path.join(tmpdir(), 'arbor-stored-images-'));
  files = new ImageFileStore(imageDir);
  photos = await Promise.all(PHOTOS.map(readPhoto));
  ids = [];
  for (const photo of photos) ids.push(await insertImage(await files.put(photo), photo.length));
  metadataOnlyId = await insertImage(null);
  fileMissingId = await insertImage('0'.repeat(64));
  const damaged = await files.put(Buffer.concat([photos[0], Buffer.from('another image')]));
  corruptId = await insertImage(damaged);
  await writeFile(files.pathOf(damaged), Buffer.from('overwritten by a disk fault'));

  storedImages = StoredImages.open({ databaseUrl: db.url, imageDir }, silent);
  // startTestService builds the service context and hands it to this callback before the server starts.
  service = await startTestService({ maxImagesPerRequest: MAX_IMAGES }, {}, (context) => {
    context.storedImages = storedImages;
    return [];
  });
  await waitUntilReady(service.url);
}, 180_000);

afterAll(async () => {
  await service?.close();
  await db?.close();
  if (imageDir) await rm(imageDir, { recursive: true, force: true });
});

const embed = (body: unknown) => postJson(`${service.url}/v1/embed/images`, body);

async function embeddingsOf(response: Response): Promise<number[][]> {
  expect(response.status).toBe(200);
  return ((await response.json()) as EmbeddingsResponse).embeddings;
}


function expectSameEmbeddings(actual: number[][], expected: number[][]): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((row, i) => expect(maxAbsDifference(row, expected[i])).toBeLessThanOrEqual(TOLERANCE));
}

describe(`POST /v1/embed/images by stored id (${process.env.TEST_DATABASE_URL ? 'real PostgreSQL' : 'embedded PGlite'})`, () => {
  it('embeds stored images exactly as their bytes, in request order', async () => {
    const byBytes = await embeddingsOf(await embed(imagesBody(photos)));
    const byId = await embeddingsOf(await embed({ imageIds: ids }));
    expectSameEmbeddings(byId, byBytes);
    // Distinct photos give distinct embeddings, so the comparison above would notice a mix-up.
    expect(maxAbsDifference(byId[0], byId[1])).toBeGreaterThan(0.01);

    const reordered = await embeddingsOf(await embed({ imageIds: [ids[2], ids[0], ids[2].toUpperCase()] }));
    expectSameEmbeddings(reordered, [byBytes[2], byBytes[0], byBytes[2]]);
  });

  it('is what InferenceClient.embedStoredImages returns', async () => {
    const client = new InferenceClient({ baseUrl: service.url, maxRetries: 0 });
    const [byId, byBytes] = [await client.embedStoredImages(ids.slice(0, 2)), await client.embedImages(photos.slice(0, 2))];
    expect(byId.model).toEqual(byBytes.model);
    expectSameEmbeddings(
      byId.vectors.map((v) => Array.from(v)),
      byBytes.vectors.map((v) => Array.from(v)),
    );
    const error = await client.embedStoredImages([ids[0], randomUUID()]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InferenceClientError);
    expect(error).toMatchObject({ code: 'IMAGE_NOT_FOUND', status: 404, info: { details: { index: 1 } } });
  });

  it('answers 400 INVALID_REQUEST with the index for an id that is not a UUID', async () => {
    for (const bad of ['not-a-uuid', 42, null, `${ids[0]}'; --`]) {
      const error = await expectErrorResponse(await embed({ imageIds: [ids[0], bad] }), 400, 'INVALID_REQUEST');
      expect(error.details).toEqual({ index: 1 });
    }
  });

  it('answers 400 for both fields, an empty list, or more than MAX_IMAGES_PER_REQUEST ids', async () => {
    await expectErrorResponse(await embed({ ...imagesBody(photos.slice(0, 1)), imageIds: [ids[0]] }), 400, 'INVALID_REQUEST');
    await expectErrorResponse(await embed({ imageIds: [] }), 400, 'INVALID_REQUEST');
    await expectErrorResponse(await embed({ imageIds: ids[0] }), 400, 'INVALID_REQUEST');
    const tooMany = await expectErrorResponse(await embed({ imageIds: Array(MAX_IMAGES + 1).fill(ids[0]) }), 400, 'TOO_MANY_ITEMS');
    expect(tooMany.details).toEqual({ max: MAX_IMAGES });
  });

  it('answers 404 IMAGE_NOT_FOUND with the index of an unknown id', async () => {
    const unknown = randomUUID();
    const error = await expectErrorResponse(await embed({ imageIds: [ids[0], ids[1], unknown] }), 404, 'IMAGE_NOT_FOUND');
    expect(error.details).toEqual({ index: 2, imageId: unknown });
  });

  it('answers 409 IMAGE_NOT_STORED for a row without bytes and for a row whose file is not in the store', async () => {
    const noSha = await expectErrorResponse(await embed({ imageIds: [metadataOnlyId] }), 409, 'IMAGE_NOT_STORED');
    expect(noSha.details).toEqual({ index: 0, imageId: metadataOnlyId });
    const noFile = await expectErrorResponse(await embed({ imageIds: [ids[0], fileMissingId] }), 409, 'IMAGE_NOT_STORED');
    expect(noFile.details).toEqual({ index: 1, imageId: fileMissingId });
  });

  it('never embeds a corrupted file: 500 IMAGE_FILE_CORRUPT, logged with the image and its sha256', async () => {
    const error = await expectErrorResponse(await embed({ imageIds: [ids[1], corruptId] }), 500, 'IMAGE_FILE_CORRUPT');
    expect(error.details).toEqual({ index: 1, imageId: corruptId });
    const logged = service.logs.find((line) => line.msg.includes('corrupt') && line.imageId === corruptId);
    expect(logged).toMatchObject({ level: 50, sha256: expect.stringMatching(/^[0-9a-f]{64}$/), requestId: expect.any(String) });
  });

  it('bounds the bytes one request reads: 413 STORED_IMAGES_TOO_LARGE', async () => {
    const limit = photos[0].length + photos[1].length;
    const error = await storedImages.read([ids[0], ids[1], ids[0]], limit, silent).then(() => undefined, (e: unknown) => e);
    expect(error).toBeUndefined(); // a repeated image is read once
    const tooLarge = await storedImages.read([ids[0], ids[1], ids[2]], limit, silent).catch((e: unknown) => e);
    expect(tooLarge).toBeInstanceOf(HttpError);
    expect(tooLarge).toMatchObject({ status: 413, code: 'STORED_IMAGES_TOO_LARGE', details: { max: limit, bytes: limit + photos[2].length } });
  });

  it('answers 503 STORED_IMAGES_UNAVAILABLE (retryable) when the database cannot be reached', async () => {
    const unreachable = StoredImages.open({ databaseUrl: 'postgresql://postgres@127.0.0.1:1/arbor', imageDir }, silent);
    try {
      const error = await unreachable.read([ids[0]], 1e9, silent).catch((e: unknown) => e);
      expect(error).toMatchObject({ status: 503, code: 'STORED_IMAGES_UNAVAILABLE', retryAfterSeconds: 5 });
    } finally {
      await unreachable.close();
    }
  });
});

describe('a service without DATABASE_URL', () => {
  it('answers 501 STORED_IMAGES_DISABLED to image ids', async () => {
    const plain = await startTestService({ modelLoad: 'lazy' });
    try {
      const error = await expectErrorResponse(await postJson(`${plain.url}/v1/embed/images`, { imageIds: [randomUUID()] }), 501, 'STORED_IMAGES_DISABLED');
      expect(error.message).toMatch(/DATABASE_URL/);
    } finally {
      await plain.close();
    }
  });
});

describe('shutdown', () => {
  it('closes the stored images pool with the server', async () => {
    const own = StoredImages.open({ databaseUrl: db.url, imageDir }, silent);
    const close = vi.spyOn(own, 'close');
    const started = await startTestService({ modelLoad: 'lazy' }, {}, (context) => {
      context.storedImages = own;
      return [];
    });
    await started.close();
    expect(close).toHaveBeenCalledTimes(1);
    await expect(own.read([ids[0]], 1e9, silent)).rejects.toMatchObject({ code: 'STORED_IMAGES_UNAVAILABLE' });
  });
});
