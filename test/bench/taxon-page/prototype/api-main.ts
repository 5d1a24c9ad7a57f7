/**
 * The API as apps/api/src/main.ts starts it, with prototype fixes swapped in at run time
 * (apps/api and services/store stay untouched). PROTOTYPE_PATCHES, comma-separated:
 *   subtree-array      ImageRepository.getForTaxa/countForTaxa with the subtree as ARRAY(…)
 *   no-cache-control   } GraphQL-layer changes, see ./server.ts
 *   complexity-cache   }
 *   lean-graphql       }
 *   cluster-2          two API processes (node:cluster) sharing the port, each with half the pg pool;
 *                      the benchmark's "server CPU" then counts only the idle primary
 * Without GraphQL-layer patches the app is the real createApiApp. Started by
 * `npm run bench -- taxon-page --prototype <patches>`.
 */
import cluster from "node:cluster";
import { createServer } from "node:http";
import { createLogger, createStore } from "@arbor/store";
import { loadConfig } from "../../../../apps/api/src/config.ts";
import { createApiApp } from "../../../../apps/api/src/server.ts";
import { createPrototypeApp, GRAPHQL_PATCHES, type GraphqlPatch } from "./server.ts";
import { SubtreeArrayImageRepository } from "./subtree-images.repository.ts";

const KNOWN = ["subtree-array", "cluster-2", ...GRAPHQL_PATCHES];
const patches = new Set((process.env.PROTOTYPE_PATCHES ?? "").split(",").map((p) => p.trim()).filter(Boolean));
for (const patch of patches) if (!KNOWN.includes(patch)) throw new Error(`unknown prototype patch '${patch}'; known: ${KNOWN.join(", ")}`);
const graphqlPatches = new Set(GRAPHQL_PATCHES.filter((patch) => patches.has(patch))) as Set<GraphqlPatch>;

if (patches.has("cluster-2") && cluster.isPrimary) {
  const workers = [0, 1].map(() => cluster.fork({ DB_POOL_SIZE: String(Math.max(1, Math.floor(Number(process.env.DB_POOL_SIZE ?? 10) / 2))) }));
  const stopAll = () => {
    for (const worker of workers) worker.process.kill("SIGTERM");
    process.exit(0);
  };
  process.once("SIGINT", stopAll);
  process.once("SIGTERM", stopAll);
  await new Promise(() => undefined);
}

const config = loadConfig();
const log = createLogger("api", config.logLevel);
const store = await createStore({ databaseUrl: config.databaseUrl, poolSize: config.dbPoolSize, runMigrations: true });
if (patches.has("subtree-array")) store.images = new SubtreeArrayImageRepository(store.pool);
const httpServer = createServer();
const { app, stop } =
  graphqlPatches.size > 0
    ? await createPrototypeApp(store, log, httpServer, graphqlPatches, config.defaultModelVersionId)
    : await createApiApp(store, log, httpServer, config.defaultModelVersionId).then(({ app, apollo }) => ({ app, stop: () => apollo.stop() }));
httpServer.on("request", app);
httpServer.listen(config.port, config.host);

async function shutdown() {
  httpServer.close();
  await stop();
  await store.close();
  process.exit(0);
}
process.once("SIGINT", () => void shutdown());
process.once("SIGTERM", () => void shutdown());
