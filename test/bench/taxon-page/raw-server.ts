/**
 * The benchmark's anchor: a hand-written HTTP handler for the taxon page, plain node:http + a pg
 * Pool, no GraphQL, no framework. Run as its own process by taxon-page.bench.ts:
 *   DATABASE_URL=… PORT=… DB_POOL_SIZE=10 node --import tsx test/bench/taxon-page/raw-server.ts
 * Routes (loopback only):
 *   GET /taxon-page/<id>       five statements concurrently, JSON built in JavaScript
 *   GET /taxon-page-json/<id>  one statement, JSON built by PostgreSQL
 *   GET /healthz
 * Responses have the GraphQL response shape, {"data":{"taxon":…}}, so content compares directly.
 */
import { createServer, type ServerResponse } from "node:http";
import pg from "pg";
import { loadPageAsJson, loadPageWithStatements } from "./page.ts";

const databaseUrl = process.env.DATABASE_URL;
const port = Number(process.env.PORT);
const poolSize = Number(process.env.DB_POOL_SIZE ?? 10);
if (!databaseUrl || !Number.isInteger(port) || !Number.isInteger(poolSize) || poolSize < 1) {
  throw new Error("raw-server needs DATABASE_URL, PORT and a positive DB_POOL_SIZE");
}

// Same pool settings as the store's createPool.
const pool = new pg.Pool({ connectionString: databaseUrl, max: poolSize, idleTimeoutMillis: 30_000 });
const ROUTE = /^\/(taxon-page|taxon-page-json)\/(\d{1,9})$/;

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

const server = createServer((req, res) => {
  if (req.method !== "GET") return send(res, 405, '{"error":"method not allowed"}');
  if (req.url === "/healthz") return send(res, 200, '{"status":"ok"}');
  const match = ROUTE.exec(req.url ?? "");
  if (!match) return send(res, 404, '{"error":"not found"}');
  const id = Number(match[2]);
  const work =
    match[1] === "taxon-page"
      ? loadPageWithStatements(pool, id).then((taxon) => JSON.stringify({ data: { taxon } }))
      : loadPageAsJson(pool, id).then((page) => `{"data":{"taxon":${page ?? "null"}}}`);
  work.then(
    (body) => send(res, 200, body),
    (error: unknown) => {
      process.stderr.write(`raw-server: ${error instanceof Error ? error.message : String(error)}\n`);
      send(res, 500, '{"error":"internal error"}');
    },
  );
});

server.listen(port, "127.0.0.1");

async function shutdown(): Promise<void> {
  server.close();
  await pool.end();
  process.exit(0);
}
process.once("SIGINT", () => void shutdown());
process.once("SIGTERM", () => void shutdown());
