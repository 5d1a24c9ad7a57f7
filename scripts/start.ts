// `npm start`: the whole platform on one machine. Without DATABASE_URL it serves the embedded
// database (PGlite + pgvector, persisted under DATA_DIR) over the Postgres wire protocol, applies
// migrations, seeds the real demo data on first start, then runs each service as a child process
// (restarted with back-off if it crashes) and prints the URLs.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import { createLogger, createStore, startEmbeddedDatabase, type EmbeddedDatabase } from "@arbor/store";
import { seedDemo } from "@arbor/store/seed.ts";
import { API_NODE_FLAGS } from "../apps/api/src/node-flags.ts";

const log = createLogger("start");
const dataDir = resolve(process.env.DATA_DIR ?? ".arbor/data");
const apiPort = Number(process.env.API_PORT ?? 4000);

// The inference service's classify kernels addon, when it can be built here (else TypeScript kernels: same results).
spawnSync(process.execPath, ["services/inference/native/build.mjs"], { stdio: "inherit" });

let embedded: EmbeddedDatabase | undefined;
let databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  embedded = await startEmbeddedDatabase({ dataDir: resolve(dataDir, "pglite"), port: Number(process.env.EMBEDDED_DB_PORT ?? 5433) });
  databaseUrl = embedded.url;
  log.info({ dataDir, url: databaseUrl }, "embedded database (PGlite + pgvector) serving");
}

const store = await createStore({ databaseUrl, poolSize: 4, runMigrations: true });
await seedDemo(store.pool, { log });
await store.close();

interface ServiceSpec {
  name: string;
  script: string;
  env: NodeJS.ProcessEnv;
  nodeFlags?: readonly string[];
}

const inferencePort = Number(process.env.INFERENCE_PORT ?? 4100);
const services: ServiceSpec[] = [
  { name: "api", script: "apps/api/src/main.ts", env: { API_PORT: String(apiPort) }, nodeFlags: API_NODE_FLAGS },
  { name: "inference", script: "services/inference/src/main.ts", env: { INFERENCE_PORT: String(inferencePort) } },
  { name: "worker", script: "services/training/src/main.ts", env: { INFERENCE_URL: `http://127.0.0.1:${inferencePort}` } },
];

const children = new Map<string, ChildProcess>();
let stopping = false;

function run(spec: ServiceSpec, attempt = 0): void {
  const child = spawn(process.execPath, [...(spec.nodeFlags ?? []), "--import", "tsx", spec.script], {
    env: { ...process.env, ...spec.env, DATABASE_URL: databaseUrl },
    stdio: "inherit",
  });
  children.set(spec.name, child);
  const startedAt = Date.now();
  child.on("exit", (code, signal) => {
    children.delete(spec.name);
    if (stopping) return;
    // A service that ran for a minute is healthy again: start back-off from scratch.
    const next = Date.now() - startedAt > 60_000 ? 0 : attempt + 1;
    const delayMs = Math.min(30_000, 500 * 2 ** next);
    log.error({ service: spec.name, code, signal, restartInMs: delayMs }, "service exited; restarting");
    setTimeout(() => run(spec, next), delayMs);
  });
}

for (const spec of services) run(spec);

log.info("started");
console.log(
  [
    "",
    "Arbor is running:",
    `  GraphQL API   http://localhost:${apiPort}/graphql`,
    `  GraphiQL      http://localhost:${apiPort}/graphiql`,
    `  Health        http://localhost:${apiPort}/healthz`,
    `  Inference     http://localhost:${inferencePort}/readyz (stand-in model unless MODEL_DIR names a real package)`,
    `  Classify      POST http://localhost:${inferencePort}/v1/classify (services/inference/README.md)`,
    embedded ? `  Database      ${databaseUrl} (embedded PGlite, data in ${dataDir})` : `  Database      ${databaseUrl.replace(/\/\/[^@]*@/, "//")}`,
    "Press Ctrl+C to stop.",
    "",
  ].join("\n"),
);

async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, "stopping");
  await Promise.all(
    [...children.values()].map(
      (child) => new Promise<void>((done) => {
        child.once("exit", () => done());
        child.kill("SIGTERM");
      }),
    ),
  );
  await embedded?.stop();
  process.exit(0);
}
process.once("SIGINT", () => void shutdown("SIGINT"));
process.once("SIGTERM", () => void shutdown("SIGTERM"));
