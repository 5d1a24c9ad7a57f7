import type { Pool } from "@arbor/store/db.ts";

/**
 * What an import left in the database, to check that a second run of the same file changes
 * nothing: per table the row count and an order-independent checksum over every column (a row
 * rewritten with a new updated_at changes it), and the server's own counters of inserted, updated
 * and deleted tuples (pg_stat_user_tables), read before and after the run.
 */

export const DATA_TABLES = ["taxon", "taxon_name", "taxon_external_id"] as const;
export const STAGING_TABLES = ["import_taxon_staging", "import_name_staging"] as const;
const COUNTED_TABLES = [...DATA_TABLES, ...STAGING_TABLES];

export interface TableContent {
  rows: number;
  /** sum of hashtextextended(row::text) as a decimal string: every column, timestamps included. */
  checksum: string;
  /**
   * The same without created_at / updated_at (and taxon_name's serial id, whose order follows the
   * plan of the INSERT … SELECT): equal for two imports that wrote the same tree.
   */
  contentChecksum: string;
}

export interface TupleCounters {
  inserted: number;
  updated: number;
  deleted: number;
}

export async function tableContents(pool: Pool): Promise<Record<string, TableContent>> {
  const out: Record<string, TableContent> = {};
  for (const table of COUNTED_TABLES) {
    const dropped = table === "taxon_name" ? " - 'id'" : "";
    const { rows } = await pool.query<TableContent>(
      `SELECT count(*)::bigint AS rows,
              COALESCE(sum(hashtextextended(t::text, 0)::numeric), 0)::text AS checksum,
              COALESCE(sum(hashtextextended((to_jsonb(t) - 'created_at' - 'updated_at'${dropped})::text, 0)::numeric), 0)::text AS "contentChecksum"
         FROM ${table} t`,
    );
    out[table] = rows[0]!;
  }
  return out;
}

/**
 * Cumulative tuple counters. Backends report them when they go idle or exit; the importer's
 * process has exited (its connections closed) before this is called, and waitForIdle waits for
 * the server to have finished those backends.
 */
export async function tupleCounters(pool: Pool): Promise<Record<string, TupleCounters>> {
  await pool.query("SELECT pg_stat_clear_snapshot()");
  const { rows } = await pool.query<{ table: string; inserted: number; updated: number; deleted: number }>(
    `SELECT relname AS table, n_tup_ins AS inserted, n_tup_upd AS updated, n_tup_del AS deleted
       FROM pg_stat_user_tables WHERE relname = ANY($1)`,
    [COUNTED_TABLES],
  );
  return Object.fromEntries(rows.map((row) => [row.table, { inserted: Number(row.inserted), updated: Number(row.updated), deleted: Number(row.deleted) }]));
}

export function counterDelta(before: Record<string, TupleCounters>, after: Record<string, TupleCounters>): Record<string, TupleCounters> {
  const out: Record<string, TupleCounters> = {};
  for (const table of COUNTED_TABLES) {
    const a = before[table] ?? { inserted: 0, updated: 0, deleted: 0 };
    const b = after[table] ?? { inserted: 0, updated: 0, deleted: 0 };
    out[table] = { inserted: b.inserted - a.inserted, updated: b.updated - a.updated, deleted: b.deleted - a.deleted };
  }
  return out;
}

/** Waits until no other session is connected to this database (the importer's backends have exited and reported). */
export async function waitForIdle(pool: Pool, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
    );
    if (rows[0]!.n === 0 || Date.now() > deadline) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export interface IdempotenceCheck {
  /** Same row count and checksum in every data table. */
  unchanged: boolean;
  /** Tuples inserted + updated + deleted in the data tables during the second run (server counters). */
  dataRowsChanged: number;
  contentsBefore: Record<string, TableContent>;
  contentsAfter: Record<string, TableContent>;
  counters: Record<string, TupleCounters>;
}

export function compareRuns(contentsBefore: Record<string, TableContent>, contentsAfter: Record<string, TableContent>, counters: Record<string, TupleCounters>): IdempotenceCheck {
  const unchanged = DATA_TABLES.every(
    (table) => contentsBefore[table]!.rows === contentsAfter[table]!.rows && contentsBefore[table]!.checksum === contentsAfter[table]!.checksum,
  );
  const dataRowsChanged = DATA_TABLES.reduce((sum, table) => sum + counters[table]!.inserted + counters[table]!.updated + counters[table]!.deleted, 0);
  return { unchanged, dataRowsChanged, contentsBefore, contentsAfter, counters };
}

/** Two imports wrote the same tree: same rows and content checksums in every data table. */
export function sameContent(a: Record<string, TableContent>, b: Record<string, TableContent>): boolean {
  return DATA_TABLES.every((table) => a[table]!.rows === b[table]!.rows && a[table]!.contentChecksum === b[table]!.contentChecksum);
}
