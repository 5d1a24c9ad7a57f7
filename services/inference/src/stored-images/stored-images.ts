// The bytes of images Arbor stores, for POST /v1/embed/images {"imageIds": [...]}: each id is looked up in the
// `image` table (through services/store, the only code that writes SQL) and its file read from the
// content-addressed image store, checked against the row's sha256.
import { existsSync } from 'node:fs';

import { createPool } from '@arbor/store/db.ts';
import { ImageFileError, ImageFileStore } from '@arbor/store/image-files.ts';
import { StoredImageRepository, type StoredImageRef } from '@arbor/store/repositories/stored-image.repository.ts';

import type { Logger } from '../logger.ts';
import { HttpError } from '../http-errors.ts';

// Canonical hyphenated form only: PostgreSQL would also take braces or no hyphens, the API never hands those out.
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Each request costs one short primary-key lookup; a few connections serve many concurrent requests.
const POOL_SIZE = 4;
const DATABASE_RETRY_AFTER_S = 5;

export interface StoredImagesSettings {
  databaseUrl: string;
  /** Absolute folder of the image file store. */
  imageDir: string;
}

export class StoredImages {
  /** A pool (connecting on first use) and the file store; `close()` ends the pool. */
  static open({ databaseUrl, imageDir }: StoredImagesSettings, logger: Logger): StoredImages {
    const pool = createPool(databaseUrl, POOL_SIZE);
    // An idle connection that breaks (server restart) is reported here; unhandled, it would end the process.
    pool.on('error', (error) => logger.warn({ err: error }, 'stored images: an idle database connection failed'));
    if (!existsSync(imageDir)) logger.warn({ imageDir }, 'stored images: the image folder does not exist (yet); stored ids will answer IMAGE_NOT_STORED');
    logger.info({ imageDir }, 'stored images enabled: POST /v1/embed/images takes imageIds');
    return new StoredImages(new StoredImageRepository(pool), new ImageFileStore(imageDir), () => pool.end());
  }

  constructor(
    private readonly refs: StoredImageRepository,
    readonly files: ImageFileStore,
    private readonly release: () => Promise<void>,
  ) {}

  /**
   * The file bytes of each listed image id, in order. `maxBytes` bounds the sum of the distinct files (the memory
   * one request may take). Throws HttpError: 400 INVALID_REQUEST (not a UUID), 404 IMAGE_NOT_FOUND, 409
   * IMAGE_NOT_STORED (no sha256 on the row, or no file), 413 STORED_IMAGES_TOO_LARGE, 500 IMAGE_FILE_CORRUPT
   * (logged), 503 STORED_IMAGES_UNAVAILABLE (database error, logged); the first failing index is reported.
   */
  async read(list: readonly unknown[], maxBytes: number, log: Logger): Promise<Buffer[]> {
    const ids = list.map(checkId);
    const refs = await this.#lookUp(ids, log);
    const shas = refs.map((ref, index) => storedSha256(ref, ids[index], index, this.files, log));

    const distinct = [...new Set(shas)];
    const sizes = new Map(await Promise.all(distinct.map(async (sha) => [sha, await this.files.size(sha)] as const)));
    shas.forEach((sha, index) => {
      if (sizes.get(sha) === undefined) throw notStored(ids[index], index, 'its file is not in the image store');
    });
    const total = [...sizes.values()].reduce((sum: number, size) => sum + size!, 0);
    if (total > maxBytes) {
      throw new HttpError(413, 'STORED_IMAGES_TOO_LARGE', `the listed images hold ${total} bytes; at most ${maxBytes} per request`, {
        bytes: total,
        max: maxBytes,
      });
    }

    const read = new Map(distinct.map((sha) => [sha, this.files.read(sha)]));
    const outcomes = await Promise.allSettled(shas.map((sha) => read.get(sha)!));
    return outcomes.map((outcome, index) => {
      if (outcome.status === 'fulfilled') return outcome.value;
      const error = outcome.reason as unknown;
      if (error instanceof ImageFileError && error.code === 'IMAGE_FILE_MISSING') throw notStored(ids[index], index, 'its file is not in the image store');
      if (error instanceof ImageFileError && error.code === 'IMAGE_FILE_CORRUPT') {
        log.error({ imageId: ids[index], sha256: error.sha256, err: error }, 'stored image file is corrupt; not served');
        throw new HttpError(500, 'IMAGE_FILE_CORRUPT', `the stored file of imageIds[${index}] does not match its sha256; it was not used`, {
          index,
          imageId: ids[index],
        });
      }
      throw error;
    });
  }

  close(): Promise<void> {
    return this.release();
  }

  async #lookUp(ids: string[], log: Logger): Promise<(StoredImageRef | null)[]> {
    try {
      return await this.refs.findRefs(ids);
    } catch (error) {
      log.error({ err: error }, 'stored images: the image database could not be queried');
      throw new HttpError(503, 'STORED_IMAGES_UNAVAILABLE', 'the image database cannot be queried now', undefined, DATABASE_RETRY_AFTER_S);
    }
  }
}

function checkId(item: unknown, index: number): string {
  if (typeof item !== 'string' || !UUID_PATTERN.test(item)) {
    throw new HttpError(400, 'INVALID_REQUEST', `imageIds[${index}] must be an image id (a UUID)`, { index });
  }
  return item;
}

function storedSha256(ref: StoredImageRef | null, id: string, index: number, files: ImageFileStore, log: Logger): string {
  if (ref === null) throw new HttpError(404, 'IMAGE_NOT_FOUND', `imageIds[${index}]: no image has the id ${id}`, { index, imageId: id });
  if (ref.sha256 === null) throw notStored(id, index, 'only its metadata is stored');
  try {
    files.pathOf(ref.sha256);
  } catch {
    log.warn({ imageId: id, sha256: ref.sha256 }, 'stored images: the image row has a malformed sha256');
    throw notStored(id, index, 'its sha256 is malformed');
  }
  return ref.sha256;
}

function notStored(id: string, index: number, why: string): HttpError {
  return new HttpError(409, 'IMAGE_NOT_STORED', `imageIds[${index}] (${id}): the image's bytes are not stored (${why})`, { index, imageId: id });
}
