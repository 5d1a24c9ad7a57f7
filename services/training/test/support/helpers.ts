import { fileURLToPath } from "node:url";
import { importTaxa, type Pool } from "@arbor/store";
import { createLogger, type Logger } from "../../src/logger.ts";

export { openTestDatabase, type TestDatabase } from "../../../../test/support/test-database.ts";

export function fixture(name: string): string {
  return fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
}

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A logger whose JSON lines are kept in `lines` (pino levels: 30 info, 40 warn, 50 error). */
export function captureLogger(level = "info"): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log = createLogger(level, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  return { log, lines };
}

export const silentLog = createLogger("silent");

/** Empties every table these tests write. */
export async function resetStore(pool: Pool): Promise<void> {
  await pool.query(
    `TRUNCATE job, taxon, taxon_name, taxon_external_id, image, image_embedding, taxon_embedding, trait, model_version,
              import_checkpoint, import_taxon_staging, import_name_staging RESTART IDENTITY CASCADE`,
  );
}

const DATA_TABLES = ["taxon", "taxon_name", "taxon_external_id", "taxon_embedding", "model_version"] as const;

/** Row count and an md5 over every column of every row, per table: equal snapshots mean nothing changed. */
export async function snapshot(pool: Pool): Promise<Record<string, { count: number; checksum: string }>> {
  const state: Record<string, { count: number; checksum: string }> = {};
  for (const table of DATA_TABLES) {
    const { rows } = await pool.query<{ count: number; checksum: string }>(
      `SELECT count(*)::int AS count, md5(COALESCE(string_agg(t::text, '|' ORDER BY t::text), '')) AS checksum FROM ${table} t`,
    );
    state[table] = rows[0]!;
  }
  return state;
}

/** Every taxon as "rank:name > … " from the root, sorted: compares tree shapes across runs. */
export async function treePaths(pool: Pool): Promise<string[]> {
  const { rows } = await pool.query<{ path: string }>(
    `SELECT (SELECT string_agg(a.rank || ':' || a.scientific_name, ' > ' ORDER BY x.ord)
               FROM unnest(t.ancestor_ids || t.id) WITH ORDINALITY AS x(id, ord) JOIN taxon a ON a.id = x.id) AS path
       FROM taxon t ORDER BY path`,
  );
  return rows.map((row) => row.path);
}

/** Text embeddings keyed by the taxon's scientific name (unique in the fixtures but for Morus, a genus). */
export async function textEmbeddingsByName(pool: Pool, modelVersionId: number): Promise<Map<string, Float32Array>> {
  const { rows } = await pool.query<{ name: string; embedding: string }>(
    `SELECT t.scientific_name AS name, te.embedding::text AS embedding
       FROM taxon_embedding te JOIN taxon t ON t.id = te.taxon_id
      WHERE te.model_version_id = $1 AND te.kind = 'text' ORDER BY t.scientific_name`,
    [modelVersionId],
  );
  return new Map(rows.map((row) => [row.name, Float32Array.from(row.embedding.slice(1, -1).split(","), Number)]));
}

/** Imports a 7-rank lineage CSV (the taxonomy importer), without prototypes. */
export async function importLineageCsv(pool: Pool, path: string): Promise<void> {
  await importTaxa("taxa-lineage", path, { pool, log: silentLog, prototypes: false, source: "test" });
}

export function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let max = 0;
  for (let at = 0; at < a.length; at++) max = Math.max(max, Math.abs(a[at]! - b[at]!));
  return max;
}

export function norm(vector: ArrayLike<number>): number {
  let sum = 0;
  for (let at = 0; at < vector.length; at++) sum += vector[at]! * vector[at]!;
  return Math.sqrt(sum);
}
