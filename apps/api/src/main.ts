import { createServer } from "node:http";
import { createLogger, createStore } from "@arbor/store";
import { loadConfig } from "./config.ts";
import { createApiApp } from "./server.ts";

const config = loadConfig();
const log = createLogger("api", config.logLevel);
const store = await createStore({ databaseUrl: config.databaseUrl, poolSize: config.dbPoolSize, runMigrations: true });
const httpServer = createServer();
const { app, apollo } = await createApiApp(store, log, httpServer, config.defaultModelVersionId);
httpServer.on("request", app);
httpServer.listen(config.port, config.host, () => {
  log.info({ url: `http://${config.host}:${config.port}/graphql` }, "api listening");
});

async function shutdown(signal: string) {
  log.info({ signal }, "shutting down");
  await apollo.stop();
  await store.close();
  process.exit(0);
}
process.once("SIGINT", () => void shutdown("SIGINT"));
process.once("SIGTERM", () => void shutdown("SIGTERM"));
