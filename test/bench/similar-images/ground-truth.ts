import { Worker } from "node:worker_threads";
import type { Pool } from "@arbor/store/db.ts";
import type { Progress } from "../lib/progress.ts";
import { type DatasetSpec, fingerprint } from "./dataset.ts";
import type { GroundTruthPartial, GroundTruthTask } from "./ground-truth.worker.ts";

export interface QueryGroup {
  key: string;
  queryRows: number[];
  /** Restrict candidates to this taxon's subtree. */
  withinTaxonId: number | null;
}

/** Exact neighbours of one query, nearest first. */
export interface Neighbours {
  rows: number[];
  distances: number[];
}

export type GroundTruth = Map<string, Map<number, Neighbours>>;

/** Ground truth keeps a few rows past k so that near-ties at rank k can be recognised. */
export const GROUND_TRUTH_EXTRA = 5;

/**
 * Exact k-NN of every query by brute force in JavaScript (float64 sums over the regenerated float32
 * rows, in `threads` worker threads), cached in the benchmark database so a --reuse run skips it.
 */
export async function exactGroundTruth(
  pool: Pool,
  spec: DatasetSpec,
  groups: QueryGroup[],
  k: number,
  threads: number,
  progress: Progress,
): Promise<GroundTruth> {
  const keep = k + GROUND_TRUTH_EXTRA;
  const setKey = (group: QueryGroup) => fingerprint({ dataset: fingerprint(spec), keep, group });
  const truth: GroundTruth = new Map();
  const missing: QueryGroup[] = [];
  for (const group of groups) {
    const { rows } = await pool.query<{ query_row: number; rows: number[]; distances: number[] }>(
      "SELECT query_row, rows, distances FROM bench_ground_truth WHERE query_set = $1",
      [setKey(group)],
    );
    if (rows.length === group.queryRows.length) {
      truth.set(group.key, new Map(rows.map((row) => [row.query_row, { rows: row.rows, distances: row.distances }])));
    } else {
      missing.push(group);
    }
  }
  if (missing.length === 0) {
    progress.log(`ground truth: all ${groups.length} query sets cached in the database`);
    return truth;
  }

  const queries = missing.reduce((sum, group) => sum + group.queryRows.length, 0);
  progress.log(`ground truth: exact search of ${queries} queries over ${spec.rows.toLocaleString("en-US")} rows in ${threads} threads`);
  const counter = progress.counter("ground truth", spec.rows, "rows", 10_000);
  const done = new Array<number>(threads).fill(0);
  const slice = Math.ceil(spec.rows / threads);
  const partials = await Promise.all(
    Array.from({ length: threads }, (_, t) => {
      const task: GroundTruthTask = {
        kind: "similar-images-ground-truth",
        spec,
        rowStart: t * slice,
        rowEnd: Math.min(spec.rows, (t + 1) * slice),
        keep,
        groups: missing.map((group) => ({ queryRows: group.queryRows, withinTaxonId: group.withinTaxonId })),
      };
      return runWorker(task, (rowsDone) => {
        done[t] = rowsDone;
        counter.set(done.reduce((a, b) => a + b, 0));
      });
    }),
  );
  counter.finish();

  for (const [g, group] of missing.entries()) {
    const perQuery = new Map<number, Neighbours>();
    group.queryRows.forEach((queryRow, j) => {
      const merged: Array<{ row: number; sim: number }> = [];
      for (const partial of partials) {
        const rows = partial.rows[g]![j]!;
        const sims = partial.similarities[g]![j]!;
        for (let i = 0; i < rows.length; i++) if (rows[i]! >= 0) merged.push({ row: rows[i]!, sim: sims[i]! });
      }
      merged.sort((a, b) => b.sim - a.sim || a.row - b.row);
      const best = merged.slice(0, keep);
      perQuery.set(queryRow, { rows: best.map((hit) => hit.row), distances: best.map((hit) => 1 - hit.sim) });
    });
    truth.set(group.key, perQuery);
    const queryRows = [...perQuery.keys()];
    await pool.query(
      `INSERT INTO bench_ground_truth (query_set, query_row, rows, distances)
       SELECT $1, q, (SELECT array_agg(r::int) FROM jsonb_array_elements_text(n->'rows') r),
              (SELECT array_agg(d::float8) FROM jsonb_array_elements_text(n->'distances') d)
       FROM unnest($2::int[], $3::jsonb[]) AS t(q, n)
       ON CONFLICT (query_set, query_row) DO UPDATE SET rows = excluded.rows, distances = excluded.distances`,
      [setKey(group), queryRows, queryRows.map((row) => JSON.stringify(perQuery.get(row)))],
    );
  }
  return truth;
}

function runWorker(task: GroundTruthTask, onProgress: (rowsDone: number) => void): Promise<GroundTruthPartial> {
  // tsx's loader is registered inside the worker: workers do not inherit it.
  const url = new URL("./ground-truth.worker.ts", import.meta.url).href;
  const worker = new Worker(`import("tsx/esm/api").then((tsx) => { tsx.register(); return import(${JSON.stringify(url)}); })`, {
    eval: true,
    workerData: task,
  });
  return new Promise((resolve, reject) => {
    worker.on("message", (message: { type: "progress"; done: number } | { type: "done"; partial: GroundTruthPartial }) => {
      if (message.type === "progress") onProgress(message.done);
      else {
        onProgress(task.rowEnd - task.rowStart);
        resolve(message.partial);
        void worker.terminate();
      }
    });
    worker.on("error", reject);
    worker.on("exit", (code) => {
      if (code !== 0) reject(new Error(`ground-truth worker exited with code ${code}`));
    });
  });
}

/**
 * recall@k of returned rows: the share of the k slots filled by true neighbours, where a row counts
 * when its exact distance is within `tolerance` of the k-th nearest (float32 ties at rank k).
 */
export function recallAtK(returned: readonly number[], truth: Neighbours, k: number, tolerance = 1e-5): number {
  const kth = truth.distances[Math.min(k, truth.distances.length) - 1];
  if (kth === undefined) return returned.length === 0 ? 1 : 0;
  const accepted = new Set<number>();
  truth.rows.forEach((row, i) => {
    if (i < k || truth.distances[i]! <= kth + tolerance) accepted.add(row);
  });
  const wanted = Math.min(k, truth.rows.length);
  let hits = 0;
  for (const row of new Set(returned.slice(0, k))) if (accepted.has(row)) hits++;
  return Math.min(hits, wanted) / wanted;
}
