import { createStore, type Store } from "@arbor/store";
import { PAGE_JSON_SQL, RAW_STATEMENTS } from "./page.ts";
import { processCpuMs } from "./processes.ts";
import { SubtreeArrayImageRepository } from "./prototype/subtree-images.repository.ts";

/**
 * What each SQL statement of the page costs, one at a time on one connection (no concurrency):
 * the API's statements called through the store's own repositories (so the SQL is exactly the
 * API's): the five of the loader path and the one of the look-ahead, the prototype's image statement, and the raw handler's statements. Per call: wall
 * time, CPU of the PostgreSQL backend (/proc), and CPU of this Node process (pg protocol and
 * row parsing).
 */

export interface StatementCost {
  origin: "API" | "API look-ahead" | "prototype" | "raw SQL";
  statement: string;
  calls: number;
  wallMs: number;
  backendCpuMs: number;
  clientCpuMs: number;
  rows: number;
}

interface Case {
  origin: StatementCost["origin"];
  statement: string;
  run: (id: number) => Promise<number>;
}

function cases(store: Store, ancestors: Map<number, number[]>): Case[] {
  const subtreeArray = new SubtreeArrayImageRepository(store.pool);
  const raw = (sql: string) => async (id: number) => (await store.pool.query(sql, [id])).rowCount ?? 0;
  return [
    { origin: "API", statement: "taxon: TaxonRepository.getByIds([id])", run: async (id) => (await store.taxa.getByIds([id])).length },
    { origin: "API", statement: "ancestors: TaxonRepository.getByIds(ancestorIds)", run: async (id) => (await store.taxa.getByIds(ancestors.get(id)!)).length },
    { origin: "API", statement: "children: TaxonRepository.getChildren([id], 21)", run: async (id) => (await store.taxa.getChildren([id], 21, null)).length },
    { origin: "API", statement: "traits: TraitRepository.getForTaxa([id])", run: async (id) => (await store.traits.getForTaxa([id])).length },
    { origin: "API", statement: "images: ImageRepository.getForTaxa([id], 13)", run: async (id) => (await store.images.getForTaxa([id], 13, null)).length },
    {
      origin: "API look-ahead",
      statement: "whole page: TaxonPageRepository.getById(id, ancestors, children 21, traits, images 13)",
      run: async (id) => {
        const page = await store.taxonPages.getById(id, { ancestors: true, children: { limit: 21, after: null }, traits: true, images: { limit: 13, after: null } });
        return page ? 1 : 0;
      },
    },
    { origin: "prototype", statement: "images: getForTaxa with the subtree as ARRAY(…)", run: async (id) => (await subtreeArray.getForTaxa([id], 13, null)).length },
    ...Object.entries(RAW_STATEMENTS).map(([name, sql]) => ({ origin: "raw SQL" as const, statement: `${name} (one id as $1)`, run: raw(sql) })),
    { origin: "raw SQL", statement: "whole page as JSON (one statement)", run: raw(PAGE_JSON_SQL) },
  ];
}

/** Runs each statement over `ids` (cycling) until `maxCalls` calls or `maxMs` milliseconds, after a short warm-up. */
export async function measureStatementCosts(databaseUrl: string, ids: readonly number[], maxCalls = 1000, maxMs = 5000): Promise<StatementCost[]> {
  const store = await createStore({ databaseUrl, poolSize: 1 });
  try {
    const { rows } = await store.pool.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
    const backend = rows[0]!.pid;
    const taxa = await store.taxa.getByIds(ids);
    const ancestors = new Map(taxa.map((taxon) => [taxon.id, taxon.ancestorIds]));
    const out: StatementCost[] = [];
    for (const c of cases(store, ancestors)) {
      for (let i = 0; i < Math.min(10, ids.length); i++) await c.run(ids[i]!);
      const backend0 = processCpuMs(backend);
      const client0 = process.cpuUsage();
      const start = performance.now();
      let calls = 0;
      let rowCount = 0;
      while (calls < maxCalls && performance.now() - start < maxMs) rowCount += await c.run(ids[calls++ % ids.length]!);
      const wall = performance.now() - start;
      const client = process.cpuUsage(client0);
      out.push({
        origin: c.origin,
        statement: c.statement,
        calls,
        wallMs: wall / calls,
        backendCpuMs: (processCpuMs(backend) - backend0) / calls,
        clientCpuMs: (client.user + client.system) / 1000 / calls,
        rows: rowCount / calls,
      });
    }
    return out;
  } finally {
    await store.close();
  }
}
