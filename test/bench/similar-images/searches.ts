import type { Pool, PoolClient } from "@arbor/store/db.ts";
import { withTransaction } from "@arbor/store/db.ts";
import { ImageRepository } from "@arbor/store/repositories/image.repository.ts";
import { hnswSearchSettings } from "@arbor/store/sql/vector.ts";
import { processCpuMs } from "../lib/machine.ts";
import type { Progress } from "../lib/progress.ts";
import { type LatencySummary, mean, median, medianSummary, summarizeLatencies } from "../lib/stats.ts";
import { rowOfUuid, rowUuid } from "./embeddings.ts";
import { type Neighbours, recallAtK } from "./ground-truth.ts";

/** One search: the query image's row → image ids, nearest first. */
export type Search = (queryRow: number) => Promise<string[]>;

export interface SearchRun {
  label: string;
  queries: number;
  /** Mean recall@k over the queries (median over repeats). */
  recall: number;
  /** Queries that returned fewer than k rows although k candidates existed. */
  shortResults: number;
  /** Per-field median over the repeats. */
  latency: LatencySummary;
  /**
   * CPU time of the server backend per query (median over repeats), when the server is local:
   * independent of other load on the machine, unlike the latencies. Excludes parallel workers.
   */
  serverCpuMsPerQuery: number | null;
  repeats: LatencySummary[];
}

/**
 * Runs `search` for every query back to back on one client, `repeats` times after a warm-up pass
 * over the first `warmup` queries; latency is client-side wall time of the whole call.
 */
export async function measureSearch(
  label: string,
  queryRows: readonly number[],
  search: Search,
  truth: Map<number, Neighbours>,
  k: number,
  repeats: number,
  warmup: number,
  progress: Progress,
  backendPid?: () => Promise<number | undefined>,
): Promise<SearchRun> {
  for (const row of queryRows.slice(0, warmup)) await search(row);
  const runs: LatencySummary[] = [];
  const cpuPerQuery: number[] = [];
  const recalls: number[] = [];
  let shortResults = 0;
  for (let repeat = 0; repeat < repeats; repeat++) {
    const latencies: number[] = [];
    const perQueryRecall: number[] = [];
    shortResults = 0;
    const pidBefore = await backendPid?.();
    const cpuBefore = pidBefore === undefined ? undefined : processCpuMs(pidBefore);
    const wallStart = performance.now();
    for (const row of queryRows) {
      const start = performance.now();
      const ids = await search(row);
      latencies.push(performance.now() - start);
      const expected = truth.get(row);
      if (!expected) throw new Error(`no ground truth for query row ${row}`);
      perQueryRecall.push(recallAtK(ids.map(rowOfUuid), expected, k));
      if (ids.length < Math.min(k, expected.rows.length)) shortResults++;
    }
    runs.push(summarizeLatencies(latencies, performance.now() - wallStart));
    const pidAfter = await backendPid?.();
    const cpuAfter = pidAfter === undefined ? undefined : processCpuMs(pidAfter);
    // The same backend before and after: otherwise the pool reconnected and the count is meaningless.
    if (cpuBefore !== undefined && cpuAfter !== undefined && pidBefore === pidAfter) cpuPerQuery.push((cpuAfter - cpuBefore) / queryRows.length);
    recalls.push(mean(perQueryRecall));
  }
  const run: SearchRun = {
    label,
    queries: queryRows.length,
    recall: median(recalls),
    shortResults,
    latency: medianSummary(runs),
    serverCpuMsPerQuery: cpuPerQuery.length > 0 ? median(cpuPerQuery) : null,
    repeats: runs,
  };
  const cpu = run.serverCpuMsPerQuery === null ? "" : `, server CPU ${run.serverCpuMsPerQuery.toFixed(2)} ms/query`;
  progress.log(
    `${label}: recall@${k} ${run.recall.toFixed(4)}, p50 ${run.latency.p50.toFixed(2)} ms, p99 ${run.latency.p99.toFixed(2)} ms, ${run.latency.qps.toFixed(0)} QPS${cpu}`,
  );
  return run;
}

/** The store's real search: ImageRepository.findSimilar. */
export function storeSearch(
  images: ImageRepository,
  options: { modelVersionId: number; k: number; efSearch: number; withinTaxonId?: number; exactCandidateLimit: number },
): Search {
  return async (queryRow) => {
    const hits = await images.findSimilar({ imageId: rowUuid(queryRow), ...options });
    return hits.map((hit) => hit.imageId);
  };
}

/**
 * findSimilar's unfiltered search written against the halfvec expression index
 * ((embedding::halfvec(D)) halfvec_cosine_ops): same transaction and settings, 16-bit vectors.
 */
export function halfvecSearch(pool: Pool, options: { modelVersionId: number; k: number; efSearch: number; dimension: number }): Search {
  const half = `halfvec(${options.dimension})`;
  const sql = `SELECT "imageId", distance FROM (
      SELECT e.image_id AS "imageId", (e.embedding::${half} <=> (SELECT embedding::${half} FROM image_embedding WHERE image_id = $1 AND model_version_id = $2))::float8 AS distance
      FROM image_embedding e
      WHERE e.model_version_id = $2 AND e.image_id <> $1
      ORDER BY e.embedding::${half} <=> (SELECT embedding::${half} FROM image_embedding WHERE image_id = $1 AND model_version_id = $2)
      LIMIT $3
    ) s ORDER BY distance, "imageId"`;
  return (queryRow) =>
    withTransaction(pool, async (client) => {
      for (const statement of hnswSearchSettings(Math.max(options.efSearch, options.k))) await client.query(statement);
      const { rows } = await client.query<{ imageId: string }>(sql, [rowUuid(queryRow), options.modelVersionId, options.k]);
      return rows.map((row) => row.imageId);
    });
}

export const EXACT_SQL = `SELECT e.image_id AS "imageId", (e.embedding <=> q.embedding)::float8 AS distance
  FROM image_embedding e, (SELECT embedding FROM image_embedding WHERE image_id = $1 AND model_version_id = $2) q
  WHERE e.model_version_id = $2 AND e.image_id <> $1
  ORDER BY distance, e.image_id LIMIT $3`;

/**
 * The anchor: exact search by sequential scan (plain index scans disabled, so HNSW cannot be used;
 * parallel workers as the server allows). The query row is still fetched by a bitmap scan of the
 * primary key: HNSW has no bitmap scans, so leaving them on cannot bring the index back.
 */
export function exactSearch(pool: Pool, options: { modelVersionId: number; k: number }): Search {
  return (queryRow) =>
    withTransaction(pool, async (client) => {
      await client.query("SET LOCAL enable_indexscan = off");
      const { rows } = await client.query<{ imageId: string }>(EXACT_SQL, [rowUuid(queryRow), options.modelVersionId, options.k]);
      return rows.map((row) => row.imageId);
    });
}

/**
 * A pool whose clients run EXPLAIN before each ordered SELECT and record the plan, so the plans of
 * the store's own SQL (which the benchmark does not copy) can be reported.
 */
export function explainingPool(pool: Pool, plans: string[]): Pool {
  const wrapClient = (client: PoolClient): PoolClient =>
    new Proxy(client, {
      get(target, property, receiver) {
        if (property !== "query") return Reflect.get(target, property, receiver);
        return async (text: unknown, params?: unknown[]) => {
          if (typeof text === "string" && /^\s*(WITH|SELECT)/i.test(text) && /ORDER BY/i.test(text)) {
            const { rows } = await target.query<{ "QUERY PLAN": unknown }>(`EXPLAIN (FORMAT JSON) ${text}`, params);
            plans.push(summarizePlan(rows[0]!["QUERY PLAN"]));
          }
          return target.query(text as string, params);
        };
      },
    });
  return new Proxy(pool, {
    get(target, property, receiver) {
      if (property === "connect") return async () => wrapClient(await target.connect());
      return Reflect.get(target, property, receiver);
    },
  });
}

interface PlanNode {
  "Node Type": string;
  "Index Name"?: string;
  "Workers Planned"?: number;
  "CTE Name"?: string;
  Plans?: PlanNode[];
}

/** "Limit > Index Scan[image_embedding_hnsw_idx] > …", depth first. */
export function summarizePlan(plan: unknown): string {
  const root = (plan as Array<{ Plan: PlanNode }>)[0]!.Plan;
  const parts: string[] = [];
  const walk = (node: PlanNode, depth: number) => {
    const details = [node["Index Name"], node["Workers Planned"] !== undefined ? `${node["Workers Planned"]} workers` : undefined, node["CTE Name"] ? `CTE ${node["CTE Name"]}` : undefined]
      .filter(Boolean)
      .join(", ");
    parts.push(`${"  ".repeat(depth)}${node["Node Type"]}${details ? ` [${details}]` : ""}`);
    for (const child of node.Plans ?? []) walk(child, depth + 1);
  };
  walk(root, 0);
  return parts.join("\n");
}

export async function firstPlan(pool: Pool, run: (pool: Pool) => Promise<unknown>): Promise<string> {
  const plans: string[] = [];
  await run(explainingPool(pool, plans));
  return plans.join("\n--\n");
}
