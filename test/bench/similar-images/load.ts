import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import type { Pool } from "@arbor/store/db.ts";
import { migrate } from "@arbor/store/migrate.ts";
import { COPY_BINARY_HEADER, COPY_BINARY_TRAILER, CopyBinaryWriter } from "../lib/pg-copy-binary.ts";
import type { Progress } from "../lib/progress.ts";
import { RANKS } from "./geometry.ts";
import { type EmbeddingGenerator, rowUuid } from "./embeddings.ts";
import type { DatasetSpec } from "./dataset.ts";
import { fingerprint } from "./dataset.ts";

export const FLOAT_INDEX = "image_embedding_hnsw_idx";
export const HALFVEC_INDEX = "image_embedding_halfvec_hnsw_idx";

// Bookkeeping of the benchmark inside its own database: what was loaded, index build times,
// cached ground truth. Not part of the project's schema.
const STATE_DDL = `
CREATE TABLE IF NOT EXISTS bench_state (key text PRIMARY KEY, value jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS bench_ground_truth (
  query_set text NOT NULL, query_row int NOT NULL, rows int[] NOT NULL, distances float8[] NOT NULL,
  PRIMARY KEY (query_set, query_row))`;

export async function ensureStateTables(pool: Pool): Promise<void> {
  await pool.query(STATE_DDL);
}

export async function readState<T>(pool: Pool, key: string): Promise<T | undefined> {
  const { rows } = await pool.query<{ value: T }>("SELECT value FROM bench_state WHERE key = $1", [key]);
  return rows[0]?.value;
}

export async function writeState(pool: Pool, key: string, value: unknown): Promise<void> {
  await pool.query(
    `INSERT INTO bench_state (key, value) VALUES ($1, $2)
     ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()`,
    [key, JSON.stringify(value)],
  );
}

export interface LoadedDataset {
  fingerprint: string;
  rows: number;
  modelVersionId: number;
  loadSeconds: number;
  loadedAt: string;
}

/** The dataset already in the database when it matches `spec` and has all its rows, else undefined. */
export async function findLoadedDataset(pool: Pool, spec: DatasetSpec): Promise<LoadedDataset | undefined> {
  const exists = await pool.query("SELECT 1 FROM pg_tables WHERE tablename = 'bench_state'");
  if (exists.rowCount === 0) return undefined;
  const loaded = await readState<LoadedDataset>(pool, "dataset");
  if (!loaded || loaded.fingerprint !== fingerprint(spec)) return undefined;
  const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM image_embedding WHERE model_version_id = $1", [
    loaded.modelVersionId,
  ]);
  return rows[0]!.n === spec.rows ? loaded : undefined;
}

/**
 * Fills a freshly created database: the project's migrations, the synthetic taxon tree, one model
 * version, `spec.rows` images and their embeddings by binary COPY. The migration's HNSW index is
 * dropped first (inserting into an HNSW index row by row is far slower than building it after).
 */
export async function loadDataset(
  pool: Pool,
  spec: DatasetSpec,
  generator: EmbeddingGenerator,
  progress: Progress,
): Promise<LoadedDataset> {
  const start = performance.now();
  const applied = await migrate(pool);
  progress.log(`migrations applied: ${applied.join(", ") || "none pending"}`);
  await ensureStateTables(pool);
  await pool.query(`DROP INDEX IF EXISTS ${FLOAT_INDEX}`);
  await pool.query(`DROP INDEX IF EXISTS ${HALFVEC_INDEX}`);

  await progress.step(`taxa: ${generator.taxonomy.taxa.length.toLocaleString("en-US")} synthetic taxa`, () =>
    loadTaxa(pool, generator),
  );
  const { rows: model } = await pool.query<{ id: number }>(
    `INSERT INTO model_version (name, version, kind, status, is_stand_in, description, dimension)
     VALUES ('synthetic-bioclip2-geometry', $1, 'backbone', 'active', true, $2, $3) RETURNING id`,
    [
      `g${spec.generatorVersion}-s${spec.seed}`,
      "Synthetic embeddings shaped like BioCLIP 2's (benchmark data, not a model)",
      spec.geometry.dimension,
    ],
  );
  const modelVersionId = model[0]!.id;

  const client = await pool.connect();
  try {
    // The generated rows are consistent by construction; skipping the per-row foreign-key
    // triggers for the bulk load is the usual restore-time practice (pg_restore does the same).
    await client.query("SET session_replication_role = replica");
    await copyRows(client, "image (id, taxon_id)", spec.rows, progress, "images", (writer, row) => {
      writer.row(2).uuid(rowUuid(row)).int32(generator.taxonIdOfRow(row));
    });
    const vector = new Float32Array(generator.dimension);
    await copyRows(client, "image_embedding (image_id, model_version_id, embedding)", spec.rows, progress, "embeddings", (writer, row) => {
      generator.vector(row, vector);
      writer.row(3).uuid(rowUuid(row)).int32(modelVersionId).vector(vector);
    });
    await client.query("RESET session_replication_role");
  } finally {
    client.release();
  }
  await progress.step("VACUUM ANALYZE", async () => {
    for (const table of ["taxon", "image", "image_embedding"]) await pool.query(`VACUUM ANALYZE ${table}`);
  });
  const loaded: LoadedDataset = {
    fingerprint: fingerprint(spec),
    rows: spec.rows,
    modelVersionId,
    loadSeconds: (performance.now() - start) / 1000,
    loadedAt: new Date().toISOString(),
  };
  await writeState(pool, "dataset", { ...loaded, spec });
  return loaded;
}

async function loadTaxa(pool: Pool, generator: EmbeddingGenerator): Promise<void> {
  const taxa = generator.taxonomy.taxa;
  const childCount = new Map<number, number>();
  for (const taxon of taxa) if (taxon.parentId !== null) childCount.set(taxon.parentId, (childCount.get(taxon.parentId) ?? 0) + 1);
  const client = await pool.connect();
  try {
    // rank and ancestor_ids go as text fields: binary forms of enums and arrays are fiddly; text COPY
    // is not worth it for a few tens of thousands of rows either way.
    const lines = taxa.map(
      (t) =>
        `${t.id}\t${t.parentId ?? "\\N"}\t${RANKS[t.rank]}\t${t.scientificName}\t{${t.ancestorIds.join(",")}}\t${t.ancestorIds.length}\t${childCount.get(t.id) ?? 0}\n`,
    );
    const stream = client.query(
      copyFrom("COPY taxon (id, parent_id, rank, scientific_name, ancestor_ids, depth, child_count) FROM STDIN"),
    );
    await pipeline(Readable.from(chunked(lines, 5_000)), stream);
    await client.query(`SELECT setval(pg_get_serial_sequence('taxon', 'id'), (SELECT max(id) FROM taxon))`);
  } finally {
    client.release();
  }
}

function* chunked(lines: string[], size: number): Generator<string> {
  for (let i = 0; i < lines.length; i += size) yield lines.slice(i, i + size).join("");
}

async function copyRows(
  client: pg.PoolClient,
  target: string,
  total: number,
  progress: Progress,
  label: string,
  writeRow: (writer: CopyBinaryWriter, row: number) => void,
): Promise<void> {
  const counter = progress.counter(`COPY ${label}`, total, "rows");
  const chunkRows = 2_000;
  async function* chunks(): AsyncGenerator<Buffer> {
    const writer = new CopyBinaryWriter(8 << 20);
    yield COPY_BINARY_HEADER;
    for (let first = 0; first < total; first += chunkRows) {
      const last = Math.min(total, first + chunkRows);
      for (let row = first; row < last; row++) writeRow(writer, row);
      counter.set(last);
      yield writer.take();
    }
    yield COPY_BINARY_TRAILER;
  }
  await pipeline(Readable.from(chunks()), client.query(copyFrom(`COPY ${target} FROM STDIN (FORMAT binary)`)));
  counter.finish();
}
