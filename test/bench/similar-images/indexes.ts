import type { Pool } from "@arbor/store/db.ts";
import type { Progress } from "../lib/progress.ts";
import { formatSeconds } from "../lib/progress.ts";
import { FLOAT_INDEX, HALFVEC_INDEX, readState, writeState } from "./load.ts";

export type IndexKind = "vector" | "halfvec";

export interface IndexBuild {
  index: string;
  kind: IndexKind;
  definition: string;
  /** max_parallel_maintenance_workers of the build (the leader works too). */
  parallelWorkers: number;
  maintenanceWorkMem: string;
  seconds: number;
  sizeBytes: number;
  notices: string[];
  builtAt: string;
}

export const HNSW_OPTIONS = "m = 16, ef_construction = 64";

export function indexDefinition(kind: IndexKind, dimension: number): { name: string; sql: string } {
  return kind === "vector"
    ? { name: FLOAT_INDEX, sql: `CREATE INDEX ${FLOAT_INDEX} ON image_embedding USING hnsw (embedding vector_cosine_ops) WITH (${HNSW_OPTIONS})` }
    : {
        name: HALFVEC_INDEX,
        sql: `CREATE INDEX ${HALFVEC_INDEX} ON image_embedding USING hnsw ((embedding::halfvec(${dimension})) halfvec_cosine_ops) WITH (${HNSW_OPTIONS})`,
      };
}

export async function indexExists(pool: Pool, name: string): Promise<boolean> {
  const { rows } = await pool.query<{ valid: boolean }>(
    `SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = $1`,
    [name],
  );
  return rows[0]?.valid === true;
}

export function buildStateKey(kind: IndexKind, parallelWorkers: number): string {
  return `build:${kind}:workers=${parallelWorkers}`;
}

export async function previousBuild(pool: Pool, kind: IndexKind, parallelWorkers: number): Promise<IndexBuild | undefined> {
  return readState<IndexBuild>(pool, buildStateKey(kind, parallelWorkers));
}

/**
 * Drops and builds one HNSW index, timed, logging pg_stat_progress_create_index every 15 s (the
 * 1 M builds take tens of minutes). The timing is recorded in the database for --reuse runs.
 */
export async function buildIndex(
  pool: Pool,
  kind: IndexKind,
  dimension: number,
  parallelWorkers: number,
  maintenanceWorkMem: string,
  progress: Progress,
): Promise<IndexBuild> {
  const { name, sql } = indexDefinition(kind, dimension);
  const client = await pool.connect();
  const notices: string[] = [];
  const onNotice = (notice: { message?: string }) => {
    if (notice.message) {
      notices.push(notice.message);
      progress.log(`server notice: ${notice.message}`);
    }
  };
  const label = `build ${name} (${kind}, ${parallelWorkers} parallel workers, maintenance_work_mem ${maintenanceWorkMem})`;
  const start = performance.now();
  const poll = setInterval(() => {
    void pool
      .query<{ phase: string; tuples_done: string; tuples_total: string; blocks_done: string; blocks_total: string }>(
        `SELECT phase, tuples_done, tuples_total, blocks_done, blocks_total FROM pg_stat_progress_create_index
         WHERE relid = 'image_embedding'::regclass`,
      )
      .then(({ rows }) => {
        const row = rows[0];
        const elapsed = formatSeconds((performance.now() - start) / 1000);
        if (!row) progress.log(`${label}: ${elapsed}`);
        else
          progress.log(
            `${label}: ${elapsed}, phase '${row.phase}', tuples ${row.tuples_done}/${row.tuples_total}, blocks ${row.blocks_done}/${row.blocks_total}`,
          );
      })
      .catch(() => undefined);
  }, 15_000);
  try {
    await client.query(`DROP INDEX IF EXISTS ${name}`);
    client.on("notice", onNotice);
    await client.query(`SET maintenance_work_mem = '${maintenanceWorkMem}'`);
    await client.query(`SET max_parallel_maintenance_workers = ${Math.trunc(parallelWorkers)}`);
    progress.log(`${label} …`);
    const buildStart = performance.now();
    await client.query(sql);
    const seconds = (performance.now() - buildStart) / 1000;
    const { rows } = await client.query<{ size: string }>("SELECT pg_relation_size($1::regclass)::text AS size", [name]);
    const build: IndexBuild = {
      index: name,
      kind,
      definition: sql,
      parallelWorkers,
      maintenanceWorkMem,
      seconds,
      sizeBytes: Number(rows[0]!.size),
      notices,
      builtAt: new Date().toISOString(),
    };
    progress.log(`${label}: built in ${formatSeconds(seconds)}, ${(build.sizeBytes / 2 ** 20).toFixed(0)} MiB`);
    await writeState(pool, buildStateKey(kind, parallelWorkers), build);
    return build;
  } finally {
    clearInterval(poll);
    client.off("notice", onNotice);
    await client.query("RESET maintenance_work_mem; RESET max_parallel_maintenance_workers").catch(() => undefined);
    client.release();
  }
}
