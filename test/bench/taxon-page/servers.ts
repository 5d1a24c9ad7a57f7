import { API_NODE_FLAGS } from "../../../apps/api/src/node-flags.ts";
import { TAXON_PAGE_QUERY } from "./page.ts";
import type { BodyCheck, LoadTarget } from "./load-generator.ts";
import { freePort, startServer, type ServerProcess } from "./processes.ts";

/** What answers: the real API, the API with prototype fixes, or one of the raw-SQL routes. */
export type ServerKind = "graphql" | "graphql-prototype" | "raw-sql" | "raw-sql-json";

/** One compared server. Prototype variants differ by their patches; the two raw routes share a process. */
export interface ServerSpec {
  id: string;
  kind: ServerKind;
  label: string;
  /** PROTOTYPE_PATCHES of a prototype variant. */
  patches?: string;
}

export const ANCHOR_ID = "raw-sql";

const BASE: Record<"graphql" | "raw-sql" | "raw-sql-json", ServerSpec> = {
  graphql: { id: "graphql", kind: "graphql", label: "GraphQL API (Apollo + type-graphql + DataLoader)" },
  "raw-sql": { id: "raw-sql", kind: "raw-sql", label: "raw SQL, 5 statements, JSON in JS (anchor)" },
  "raw-sql-json": { id: "raw-sql-json", kind: "raw-sql-json", label: "raw SQL, 1 statement, JSON built by PostgreSQL" },
};

export const BASE_SERVER_IDS = Object.keys(BASE);

export function baseServer(id: string): ServerSpec | undefined {
  return BASE[id as keyof typeof BASE];
}

export function prototypeServer(patches: string): ServerSpec {
  return { id: `prototype:${patches}`, kind: "graphql-prototype", label: `GraphQL API + prototype ${patches}`, patches };
}

/** Servers of one kind-and-patches share a process: the raw routes are one process. */
export function processKey(spec: ServerSpec): string {
  return spec.kind === "raw-sql-json" ? "raw-sql" : spec.id;
}

export interface ServerSettings {
  databaseUrl: string;
  poolSize: number;
}

/**
 * Prototype "patches" that are node flags rather than code, added after the API's own flags
 * (API_NODE_FLAGS; the last one wins): young-generation semi-spaces of N MB (`semi-space-N`; Node's
 * default is 16, the API's 64); one GC thread; no allocation-site pretenuring (objects always born young).
 */
const NODE_FLAG_PATCHES: Record<string, string> = {
  "single-threaded-gc": "--single-threaded-gc",
  "no-pretenuring": "--no-allocation-site-pretenuring",
};

function nodeFlagOf(patch: string): string | undefined {
  const semiSpace = /^semi-space-(\d+)$/.exec(patch);
  return semiSpace ? `--max-semi-space-size=${semiSpace[1]}` : NODE_FLAG_PATCHES[patch];
}

function splitPatches(patches: string): { code: string; nodeArgs: string[] } {
  const all = patches.split(",").map((p) => p.trim()).filter(Boolean);
  return { code: all.filter((p) => nodeFlagOf(p) === undefined).join(","), nodeArgs: all.flatMap((p) => nodeFlagOf(p) ?? []) };
}

/** Starts the process serving `spec`: production mode, quiet logs, loopback only. */
export async function startFor(spec: ServerSpec, settings: ServerSettings, nodeArgs: string[] = []): Promise<ServerProcess> {
  const port = await freePort();
  const common = { DATABASE_URL: settings.databaseUrl, DB_POOL_SIZE: String(settings.poolSize), NODE_ENV: "production" };
  if (spec.kind === "raw-sql" || spec.kind === "raw-sql-json") {
    return startServer({ name: "raw-sql", nodeArgs, script: "test/bench/taxon-page/raw-server.ts", port, healthPath: "/healthz", env: { ...common, PORT: String(port) } });
  }
  const prototype = spec.kind === "graphql-prototype";
  const patches = splitPatches(spec.patches ?? "");
  return startServer({
    name: spec.id,
    nodeArgs: [...API_NODE_FLAGS, ...(prototype ? patches.nodeArgs : []), ...nodeArgs],
    script: prototype ? "test/bench/taxon-page/prototype/api-main.ts" : "apps/api/src/main.ts",
    port,
    healthPath: "/readyz",
    env: {
      ...common,
      API_HOST: "127.0.0.1",
      API_PORT: String(port),
      LOG_LEVEL: "warn",
      ...(prototype ? { PROTOTYPE_PATCHES: patches.code } : {}),
    },
  });
}

const PAGE_BODY: BodyCheck = { prefix: '{"data":{"taxon":{', absent: '"errors"' };

/** How the load generator asks `spec` for a page; request specs are built once per id. */
export function targetOf(spec: ServerSpec, server: ServerProcess): LoadTarget {
  const cache = new Map<number, ReturnType<LoadTarget["request"]>>();
  const cached = (build: (id: number) => ReturnType<LoadTarget["request"]>) => (id: number) => {
    let request = cache.get(id);
    if (!request) cache.set(id, (request = build(id)));
    return request;
  };
  if (spec.kind === "graphql" || spec.kind === "graphql-prototype") {
    return {
      name: spec.id,
      baseUrl: server.baseUrl,
      request: cached((id) => ({
        method: "POST",
        path: "/graphql",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: TAXON_PAGE_QUERY, variables: { id } }),
      })),
      validBody: PAGE_BODY,
    };
  }
  const route = spec.kind === "raw-sql" ? "taxon-page" : "taxon-page-json";
  return { name: spec.id, baseUrl: server.baseUrl, request: cached((id) => ({ method: "GET", path: `/${route}/${id}` })), validBody: PAGE_BODY };
}
