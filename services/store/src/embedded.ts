import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import { fuzzystrmatch } from "@electric-sql/pglite/contrib/fuzzystrmatch";
import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm";
import { vector } from "@electric-sql/pglite-pgvector";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { serialiseExtendedQueries } from "./embedded-queue.ts";

export interface EmbeddedDatabaseOptions {
  /** Directory that persists the database; omit for an in-memory database (tests). */
  dataDir?: string;
  /** TCP port on 127.0.0.1; 0 picks a free one. */
  port: number;
  /** Client connections served at once; queries are queued in PGlite's single backend. */
  maxConnections?: number;
}

export interface EmbeddedDatabase {
  /** postgresql:// URL for pg / Prisma clients. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * PGlite (WASM Postgres + pgvector + pg_trgm + fuzzystrmatch) served over the Postgres wire protocol, so every
 * component talks to it through the same `pg` code path as to a real server.
 * PGlite has ONE backend shared by all connections: session settings leak between clients, so the
 * store only ever uses `SET LOCAL` inside transactions.
 */
export async function startEmbeddedDatabase(options: EmbeddedDatabaseOptions): Promise<EmbeddedDatabase> {
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const db = await PGlite.create(options.dataDir ?? "memory://", { extensions: { vector, pg_trgm, fuzzystrmatch } });
  await db.exec("CREATE EXTENSION IF NOT EXISTS vector; CREATE EXTENSION IF NOT EXISTS pg_trgm;");
  const server = new PGLiteSocketServer({
    db,
    host: "127.0.0.1",
    port: options.port,
    maxConnections: options.maxConnections ?? 32,
  });
  serialiseExtendedQueries(server);
  await server.start();
  const port = Number(server.getServerConn().split(":").pop());
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres?sslmode=disable`,
    port,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
