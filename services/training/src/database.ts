import { resolve } from "node:path";
import { createStore, startEmbeddedDatabase, type EmbeddedDatabase, type Store } from "@arbor/store";
import type { Logger } from "./logger.ts";

export interface OpenedStore {
  store: Store;
  close(): Promise<void>;
}

/**
 * The store at `databaseUrl`, migrated; without a URL, the embedded database in `<dataDir>/pglite`.
 * Only one process may open that directory: while `npm start` runs, point DATABASE_URL at its
 * wire-protocol server instead.
 */
export async function openStore(options: { databaseUrl: string | undefined; dataDir: string; poolSize: number; log: Logger }): Promise<OpenedStore> {
  let embedded: EmbeddedDatabase | undefined;
  let url = options.databaseUrl;
  if (!url) {
    const dir = resolve(options.dataDir, "pglite");
    embedded = await startEmbeddedDatabase({ dataDir: dir, port: 0 });
    options.log.info({ dataDir: dir }, "embedded database");
    url = embedded.url;
  }
  const store = await createStore({ databaseUrl: url, poolSize: options.poolSize, runMigrations: true });
  return {
    store,
    async close() {
      await store.close();
      await embedded?.stop();
    },
  };
}
