import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { importEmbeddings, ImportAbortedError, recomputePrototypesFor } from "../../src/importers/index.ts";
import type { Pool } from "../../src/index.ts";
import { counts, fixture, openTestDatabase, resetStore, SEED_FILE, silentLog, snapshot, treeInvariantViolations, type TestDatabase } from "./helpers.ts";

let db: TestDatabase;
let pool: Pool;

beforeAll(async () => {
  db = await openTestDatabase();
  pool = db.store.pool;
});
afterAll(async () => {
  await db?.close();
});
beforeEach(async () => {
  await resetStore(pool);
});

const DIM = 768;
const rawOptions = () => ({ pool, log: silentLog, model: "bioclip-2@1", metadataPath: fixture("raw-metadata.csv") });

/** The fixture's vectors by uuid, read straight from the binary file. */
async function fixtureVectors(): Promise<Map<string, Float32Array>> {
  const bin = await readFile(fixture("raw-8x768.bin"));
  const lines = (await readFile(fixture("raw-metadata.csv"), "utf8")).trim().split("\n").slice(1);
  return new Map(
    lines.map((line) => {
      const [row, uuid] = line.split(",");
      const vector = new Float32Array(DIM);
      for (let at = 0; at < DIM; at++) vector[at] = bin.readFloatLE((Number(row) * DIM + at) * 4);
      return [uuid!, vector];
    }),
  );
}

async function storedEmbeddings(): Promise<Map<string, Float32Array>> {
  const { rows } = await pool.query<{ uuid: string; embedding: string }>(
    `SELECT i.source_id AS uuid, e.embedding::text AS embedding FROM image_embedding e JOIN image i ON i.id = e.image_id`,
  );
  return new Map(rows.map((row) => [row.uuid, Float32Array.from(row.embedding.slice(1, -1).split(","), Number)]));
}

describe("embeddings-raw", () => {
  it("stores images, attribution and the embeddings as given, creating lineage taxa and the model version", async () => {
    const outcome = await importEmbeddings("embeddings-raw", fixture("raw-8x768.bin"), rawOptions());
    expect(outcome.stats).toMatchObject({ images: 8, imagesWithoutTaxon: 1 });
    const stored = await storedEmbeddings();
    const expected = await fixtureVectors();
    expect(stored.size).toBe(8);
    for (const [uuid, vector] of expected) expect(stored.get(uuid)).toEqual(vector);
    // Not normalised by the import: BioCLIP 2 vectors in this sample have norm ≈ 45.
    const norm = Math.hypot(...expected.values().next().value!);
    expect(norm).toBeGreaterThan(10);
    const { rows: models } = await pool.query(`SELECT name, version, kind, status, is_stand_in, logit_scale, dimension FROM model_version`);
    expect(models).toEqual([{ name: "bioclip-2", version: "1", kind: "backbone", status: "active", is_stand_in: false, logit_scale: 100, dimension: 768 }]);
    const { rows: images } = await pool.query(
      `SELECT i.source, i.source_url, i.publisher, i.basis_of_record, t.scientific_name, t.rank
         FROM image i LEFT JOIN taxon t ON t.id = i.taxon_id WHERE i.source_id = '4d01e3a7-cd00-4a9b-adfe-b95df2cd3f6e'`,
    );
    expect(images).toEqual([
      { source: "gbif", source_url: "https://bs.plantnet.org/image/o/f03041bc0d9a6f73661a6dde53a8a62fd9282a69", publisher: "Pl@ntNet", basis_of_record: "HUMAN_OBSERVATION", scientific_name: "Allium roseum", rank: "species" },
    ]);
    // The row without any lineage keeps its image, with no taxon, under the TreeOfLife source.
    const { rows: orphans } = await pool.query(`SELECT source FROM image WHERE taxon_id IS NULL`);
    expect(orphans).toEqual([{ source: "treeoflife-200m" }]);
    // The lineage without a class hangs the order under the phylum.
    const { rows: order } = await pool.query(
      `SELECT p.rank FROM taxon t JOIN taxon p ON p.id = t.parent_id WHERE t.scientific_name = 'Perciformes'`,
    );
    expect(order).toEqual([{ rank: "phylum" }]);
    expect(await treeInvariantViolations(pool)).toBe(0);
    expect((await pool.query(`SELECT common_name FROM taxon WHERE scientific_name = 'Allium roseum'`)).rows).toEqual([{ common_name: "Rosy garlic" }]);
  });

  it("computes prototypes equal to the float64 mean of normalised embeddings over each subtree", async () => {
    await importEmbeddings("embeddings-raw", fixture("raw-8x768.bin"), rawOptions());
    const vectors = await fixtureVectors();
    const { rows: members } = await pool.query<{ uuid: string; lineage: number[] }>(
      `SELECT i.source_id AS uuid, t.ancestor_ids || t.id AS lineage FROM image i JOIN taxon t ON t.id = i.taxon_id`,
    );
    const sums = new Map<number, { sum: Float64Array; count: number }>();
    for (const member of members) {
      const vector = vectors.get(member.uuid)!;
      const norm = Math.sqrt(vector.reduce((acc, v) => acc + v * v, 0));
      for (const taxonId of member.lineage) {
        const entry = sums.get(taxonId) ?? { sum: new Float64Array(DIM), count: 0 };
        for (let at = 0; at < DIM; at++) entry.sum[at]! += vector[at]! / norm;
        entry.count++;
        sums.set(taxonId, entry);
      }
    }
    const { rows: prototypes } = await pool.query<{ taxon_id: number; embedding: string; image_count: number }>(
      `SELECT taxon_id, embedding::text AS embedding, image_count FROM taxon_embedding WHERE kind = 'prototype'`,
    );
    expect(prototypes.length).toBe(sums.size);
    // Allium roseum has two images, the genus Allium three, the kingdom Plantae five.
    const countOf = async (name: string) =>
      (await pool.query(`SELECT e.image_count FROM taxon_embedding e JOIN taxon t ON t.id = e.taxon_id WHERE t.scientific_name = $1`, [name])).rows[0].image_count;
    expect([await countOf("Allium roseum"), await countOf("Allium"), await countOf("Plantae")]).toEqual([2, 3, 5]);
    for (const prototype of prototypes) {
      const expected = sums.get(prototype.taxon_id)!;
      expect(prototype.image_count).toBe(expected.count);
      const norm = Math.sqrt(expected.sum.reduce((acc, v) => acc + v * v, 0));
      const stored = prototype.embedding.slice(1, -1).split(",").map(Number);
      for (let at = 0; at < DIM; at++) expect(stored[at]).toBeCloseTo(expected.sum[at]! / norm, 6);
    }
    const again = await recomputePrototypesFor(pool, "bioclip-2@1");
    expect(again).toMatchObject({ prototypes: sums.size, written: 0, deleted: 0 });
  });

  it("is idempotent when forced", async () => {
    await importEmbeddings("embeddings-raw", fixture("raw-8x768.bin"), rawOptions());
    const before = await snapshot(pool);
    const again = await importEmbeddings("embeddings-raw", fixture("raw-8x768.bin"), { ...rawOptions(), force: true });
    expect(again.stats).toMatchObject({ taxaInserted: 0, prototypesChanged: 0 });
    expect(await snapshot(pool)).toEqual(before);
  });

  it("resumes after a failure between batches", async () => {
    await expect(
      importEmbeddings("embeddings-raw", fixture("raw-8x768.bin"), {
        ...rawOptions(),
        batchSize: 3,
        afterBatch: (batch) => {
          if (batch === 1) throw new Error("injected crash");
        },
      }),
    ).rejects.toThrow("injected crash");
    expect((await counts(pool)).image_embedding).toBe(3);
    const resumed = await importEmbeddings("embeddings-raw", fixture("raw-8x768.bin"), { ...rawOptions(), batchSize: 3 });
    expect(resumed.resumedFrom).toBe(3);
    const stored = await storedEmbeddings();
    for (const [uuid, vector] of await fixtureVectors()) expect(stored.get(uuid)).toEqual(vector);
    const resumedState = await counts(pool);
    await resetStore(pool);
    await importEmbeddings("embeddings-raw", fixture("raw-8x768.bin"), rawOptions());
    expect(resumedState).toEqual(await counts(pool));
    expect(await treeInvariantViolations(pool)).toBe(0);
  });

  it("rejects a NaN with file, line and element, writing nothing", async () => {
    const error = await importEmbeddings("embeddings-raw", fixture("raw-8x768-nan.bin"), rawOptions()).catch((e) => e);
    expect(error).toBeInstanceOf(ImportAbortedError);
    expect((error as ImportAbortedError).errors[0]).toMatchObject({ file: "raw-metadata.csv", line: 4, field: "embedding[5]" });
    expect(Object.values(await counts(pool)).every((n) => n === 0)).toBe(true);
    expect((await pool.query(`SELECT count(*)::int AS n FROM model_version`)).rows[0].n).toBe(0);
  });
});

describe("embeddings-parquet", () => {
  it("rejects a wrong dimension with the row and column", async () => {
    const error = await importEmbeddings("embeddings-parquet", SEED_FILE("example_1k.parquet"), { pool, log: silentLog, model: "test-512@1", dimension: 512 }).catch((e) => e);
    expect(error).toBeInstanceOf(ImportAbortedError);
    expect((error as ImportAbortedError).errors[0]).toMatchObject({ file: "example_1k.parquet", line: 1, field: "emb" });
    expect((error as ImportAbortedError).errors[0]!.message).toContain("dimension 768, expected 512");
    expect(Object.values(await counts(pool)).every((n) => n === 0)).toBe(true);
  });

  it("imports the real BioCLIP 2 sample (data/seed/example_1k.parquet), the same vectors as the raw files", { timeout: 600_000 }, async () => {
    // Prototypes are checked on the raw fixture above; skipping them here halves the time on PGlite.
    const outcome = await importEmbeddings("embeddings-parquet", SEED_FILE("example_1k.parquet"), { pool, log: silentLog, model: "bioclip-2@1", prototypes: false });
    // 121 rows have no lineage and 7 only "incertae sedis" as kingdom.
    expect(outcome.stats).toMatchObject({ images: 1030, imagesWithoutTaxon: 128 });
    const stored = await storedEmbeddings();
    for (const [uuid, vector] of await fixtureVectors()) expect(stored.get(uuid)).toEqual(vector);
    const { rows } = await pool.query(`SELECT count(DISTINCT taxon_id)::int AS n FROM image WHERE taxon_id IS NOT NULL`);
    expect(rows[0].n).toBeGreaterThan(800);
    expect(await treeInvariantViolations(pool)).toBe(0);
    // Publishers name species in their own language: the English name is preferred, the Swedish
    // "korp" (SLU Artdatabanken, earlier in the file) is kept as a name of undetermined language.
    const raven = await pool.query(
      `SELECT t.common_name, n.name, n.language FROM taxon t JOIN taxon_name n ON n.taxon_id = t.id AND n.kind = 'vernacular'
        WHERE t.scientific_name = 'Corvus corax' ORDER BY n.name`,
    );
    expect(raven.rows).toEqual([
      { common_name: "Common raven", name: "Common raven", language: "en" },
      { common_name: "Common raven", name: "korp", language: "und" },
    ]);
  });
});
