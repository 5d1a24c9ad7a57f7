import { randomBytes } from "node:crypto";
import pg from "pg";
import { createStore, startEmbeddedDatabase, type Store } from "@arbor/store";

export interface TestDatabase {
  /** "embedded" (PGlite over the wire protocol) or "postgres" (the real server in TEST_DATABASE_URL). */
  kind: "embedded" | "postgres";
  url: string;
  store: Store;
  close(): Promise<void>;
}

/**
 * A migrated, empty database for one test file: a fresh PGlite instance, or — when
 * TEST_DATABASE_URL names a real PostgreSQL + pgvector server — a throwaway database on it.
 */
export async function openTestDatabase(): Promise<TestDatabase> {
  const serverUrl = process.env.TEST_DATABASE_URL;
  if (!serverUrl) {
    const embedded = await startEmbeddedDatabase({ port: 0 });
    const store = await createStore({ databaseUrl: embedded.url, poolSize: 4, runMigrations: true });
    return {
      kind: "embedded",
      url: embedded.url,
      store,
      async close() {
        await store.close();
        await embedded.stop();
      },
    };
  }
  const name = `arbor_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const store = await createStore({ databaseUrl: url.toString(), poolSize: 4, runMigrations: true });
  return {
    kind: "postgres",
    url: url.toString(),
    store,
    async close() {
      await store.close();
      const cleanup = new pg.Client({ connectionString: serverUrl });
      await cleanup.connect();
      await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await cleanup.end();
    },
  };
}
