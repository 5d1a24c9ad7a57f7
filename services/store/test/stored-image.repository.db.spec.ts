import { randomUUID } from "node:crypto";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { openTestDatabase, type TestDatabase } from "../../../test/support/test-database.ts";
import { StoredImageRepository } from "../src/repositories/stored-image.repository.ts";

describe(`StoredImageRepository (${process.env.TEST_DATABASE_URL ? "real PostgreSQL" : "embedded PGlite"})`, () => {
  let db: TestDatabase;
  let repository: StoredImageRepository;
  let stored: string;
  let metadataOnly: string;
  const sha256 = "ab".repeat(32);

  beforeAll(async () => {
    db = await openTestDatabase();
    repository = new StoredImageRepository(db.store.pool);
    const insert = (sha: string | null, mime: string | null) =>
      db.store.pool.query<{ id: string }>(`INSERT INTO image (sha256, mime_type) VALUES ($1, $2) RETURNING id`, [sha, mime]);
    stored = (await insert(sha256, "image/jpeg")).rows[0]!.id;
    metadataOnly = (await insert(null, null)).rows[0]!.id;
  }, 60_000);

  afterAll(async () => {
    await db?.close();
  });

  it("answers one entry per requested id, in request order, with null for unknown ids", async () => {
    const unknown = randomUUID();
    expect(await repository.findRefs([metadataOnly, unknown, stored, stored.toUpperCase()])).toEqual([
      { id: metadataOnly, sha256: null, mimeType: null },
      null,
      { id: stored, sha256, mimeType: "image/jpeg" },
      { id: stored, sha256, mimeType: "image/jpeg" },
    ]);
  });

  it("asks nothing for an empty list", async () => {
    expect(await repository.findRefs([])).toEqual([]);
  });
});
