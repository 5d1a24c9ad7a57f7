import { createReadStream, createWriteStream } from "node:fs";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import type pg from "pg";
import { from as copyFrom, to as copyTo } from "pg-copy-streams";
import type { Pool } from "@arbor/store/db.ts";

/**
 * The ceilings the importer is compared with, on the same server in the same run:
 *
 * - **plain COPY**: the CSV file itself, streamed from disk by this process into
 *   `COPY … FROM STDIN (FORMAT csv, HEADER)` of a fresh, unindexed, logged table with the file's
 *   columns (ints for ids and levels, text for names). It measures reading the file, the wire,
 *   the server's CSV parsing and heap/WAL writes of the same rows: the fastest way to get these
 *   rows into PostgreSQL at all.
 * - **final-state COPY**: the rows the importer ends up writing (taxon with ancestor_ids, depth and
 *   child_count; taxon_name; taxon_external_id), dumped from the importer's result with binary
 *   COPY, then COPYed into a freshly migrated database's real tables with all their indexes
 *   (btrees, the GIN on ancestor_ids, the trigram GIN on names) and foreign keys. It measures the
 *   cost of the importer's output alone, without parsing, staging or resolution: what any import
 *   path producing this schema must pay.
 */

export const PLAIN_TABLE = "bench_copy_plain";

export interface CopyTiming {
  rows: number;
  ms: number;
}

const PARENT_CHILD_COLUMNS = "parent_taxon_id int, taxon_id int, rank_level int, name text";
const LINEAGE_COLUMNS = "id int, kingdom text, phylum text, class text, \"order\" text, family text, genus text, species text";

/** COPY of the CSV file into a new unindexed table (dropped first); returns rows and the COPY's wall time. */
export async function copyCsvIntoPlainTable(pool: Pool, csvPath: string, layout: "parent-child" | "lineage"): Promise<CopyTiming> {
  const client = await pool.connect();
  try {
    await client.query(`DROP TABLE IF EXISTS ${PLAIN_TABLE}`);
    await client.query(`CREATE TABLE ${PLAIN_TABLE} (${layout === "parent-child" ? PARENT_CHILD_COLUMNS : LINEAGE_COLUMNS})`);
    const start = performance.now();
    const stream = client.query(copyFrom(`COPY ${PLAIN_TABLE} FROM STDIN (FORMAT csv, HEADER true)`));
    await pipeline(createReadStream(csvPath, { highWaterMark: 1 << 20 }), stream);
    const ms = performance.now() - start;
    return { rows: Number(stream.rowCount), ms };
  } finally {
    client.release();
  }
}

export async function dropPlainTable(pool: Pool): Promise<void> {
  await pool.query(`DROP TABLE IF EXISTS ${PLAIN_TABLE}`);
}

/** Tables the importer writes, parents first (foreign keys). */
export const FINAL_TABLES = ["taxon", "taxon_name", "taxon_external_id"] as const;
export type FinalTable = (typeof FINAL_TABLES)[number];

const ORDER_BY: Record<FinalTable, string> = { taxon: "id", taxon_name: "id", taxon_external_id: "source, external_id" };

/** Binary dumps of the importer's output, one file per table, in key order. */
export async function dumpFinalState(pool: Pool, dir: string): Promise<Record<FinalTable, string>> {
  const files = {} as Record<FinalTable, string>;
  const client = await pool.connect();
  try {
    for (const table of FINAL_TABLES) {
      files[table] = join(dir, `${table}.pgcopy`);
      const stream = client.query(copyTo(`COPY (SELECT * FROM ${table} ORDER BY ${ORDER_BY[table]}) TO STDOUT (FORMAT binary)`));
      await pipeline(stream, createWriteStream(files[table]));
    }
  } finally {
    client.release();
  }
  return files;
}

/**
 * Loads the dumps into the (empty, migrated) real tables in one transaction, as an import would;
 * times each table's COPY and the commit.
 */
export async function copyFinalState(pool: Pool, files: Record<FinalTable, string>): Promise<{ ms: number; tables: Record<FinalTable, CopyTiming>; commitMs: number }> {
  const client = await pool.connect();
  const tables = {} as Record<FinalTable, CopyTiming>;
  try {
    const start = performance.now();
    await client.query("BEGIN");
    for (const table of FINAL_TABLES) {
      const tableStart = performance.now();
      const stream = client.query(copyFrom(`COPY ${table} FROM STDIN (FORMAT binary)`));
      await pipeline(createReadStream(files[table], { highWaterMark: 1 << 20 }), stream);
      tables[table] = { rows: Number(stream.rowCount), ms: performance.now() - tableStart };
    }
    const commitStart = performance.now();
    await client.query("COMMIT");
    const end = performance.now();
    return { ms: end - start, tables, commitMs: end - commitStart };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Empties the real tables again (between repeats of the final-state COPY). */
export async function truncateFinalTables(client: pg.Pool | pg.PoolClient): Promise<void> {
  await client.query(`TRUNCATE ${FINAL_TABLES.join(", ")} RESTART IDENTITY CASCADE`);
}

/** The indexes whose row-by-row maintenance dominates loading names and lineages. */
const DEFERRABLE_INDEXES = [
  { name: "taxon_ancestor_ids_gin_idx", create: `CREATE INDEX taxon_ancestor_ids_gin_idx ON taxon USING GIN (ancestor_ids)` },
  { name: "taxon_name_prefix_idx", create: `CREATE INDEX taxon_name_prefix_idx ON taxon_name (lower(name) text_pattern_ops)` },
  { name: "taxon_name_trgm_idx", create: `CREATE INDEX taxon_name_trgm_idx ON taxon_name USING GIN (lower(name) gin_trgm_ops)` },
];

export interface CopyVariant {
  variant: string;
  round: number;
  ms: number;
  tables: Record<FinalTable, CopyTiming>;
  /** Index builds after the load (variant "indexes built after"), included in ms. */
  indexBuildMs?: Record<string, number>;
}

export const BASELINE_VARIANT = "all indexes and foreign keys";

/**
 * What the final-state COPY spends on foreign keys and on the GIN / prefix indexes: per round, the
 * same load with everything (the baseline), then (a) with the session's foreign-key triggers off
 * (session_replication_role = replica, as pg_restore does), (b) also without the two GIN indexes
 * and the prefix btree, built afterwards, (c) with every index and key but
 * gin_pending_list_limit = 1GB. Rounds alternate the four, so that drifting load hits all alike.
 * Each load starts from empty tables; the indexes are restored at the end.
 */
export async function copyFinalStateVariants(pool: Pool, files: Record<FinalTable, string>, rounds: number, onVariant?: (variant: CopyVariant) => void): Promise<CopyVariant[]> {
  const client = await pool.connect();
  const out: CopyVariant[] = [];
  const load = async (variant: string, round: number, settings: string[]) => {
    await truncateFinalTables(client);
    for (const setting of settings) await client.query(`SET ${setting}`);
    try {
      const start = performance.now();
      await client.query("BEGIN");
      const tables = {} as Record<FinalTable, CopyTiming>;
      for (const table of FINAL_TABLES) {
        const tableStart = performance.now();
        const stream = client.query(copyFrom(`COPY ${table} FROM STDIN (FORMAT binary)`));
        await pipeline(createReadStream(files[table], { highWaterMark: 1 << 20 }), stream);
        tables[table] = { rows: Number(stream.rowCount), ms: performance.now() - tableStart };
      }
      await client.query("COMMIT");
      return { variant, round, ms: performance.now() - start, tables } as CopyVariant;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      await client.query("RESET ALL");
    }
  };
  const record = (variant: CopyVariant) => {
    out.push(variant);
    onVariant?.(variant);
  };
  try {
    for (let round = 1; round <= rounds; round++) {
      record(await load(BASELINE_VARIANT, round, []));
      record(await load("no foreign-key checks", round, ["session_replication_role = replica"]));
      await client.query(`DROP INDEX IF EXISTS ${DEFERRABLE_INDEXES.map((index) => index.name).join(", ")}`);
      try {
        const result = await load("no foreign-key checks, GIN + prefix indexes built after", round, ["session_replication_role = replica"]);
        result.indexBuildMs = {};
        for (const index of DEFERRABLE_INDEXES) {
          const start = performance.now();
          await client.query(index.create);
          result.indexBuildMs[index.name] = performance.now() - start;
        }
        result.ms += Object.values(result.indexBuildMs).reduce((sum, ms) => sum + ms, 0);
        record(result);
      } finally {
        for (const index of DEFERRABLE_INDEXES) await client.query(index.create.replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS"));
      }
      record(await load("gin_pending_list_limit = 1GB", round, ["gin_pending_list_limit = '1GB'"]));
    }
    await truncateFinalTables(client);
  } finally {
    client.release();
  }
  return out;
}
