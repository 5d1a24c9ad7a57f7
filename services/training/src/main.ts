// The training worker: `node --import tsx services/training/src/main.ts` (see ../README.md).
// claim → handler → record outcome, for every job name in @arbor/store's jobs.ts.
import { InferenceClient } from "@arbor/inference/client.ts";
import { ConfigError, loadConfig, type TrainingConfig } from "./config.ts";
import { openStore } from "./database.ts";
import { buildHandlerRegistry, HandlerRegistryError } from "./handler-registry.ts";
import { HANDLERS } from "./handlers/index.ts";
import { createLogger } from "./logger.ts";
import { Worker } from "./worker.ts";

let config: TrainingConfig;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(2);
}
const log = createLogger(config.logLevel);

// Start-up check: a job name without exactly one handler would wait in the queue forever.
let handlers;
try {
  handlers = buildHandlerRegistry(HANDLERS);
} catch (error) {
  if (!(error instanceof HandlerRegistryError)) throw error;
  log.fatal({ problems: error.problems }, error.message);
  process.exit(1);
}

const { store, close } = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.dbPoolSize, log });
const inference = new InferenceClient({ baseUrl: config.inferenceUrl, timeoutMs: config.inferenceTimeoutMs });
const worker = new Worker({
  jobs: store.jobs,
  handlers,
  dependencies: { store, inference, config },
  workerId: config.workerId,
  log,
  jobNames: config.jobNames,
  pollIntervalMs: config.pollIntervalMs,
  heartbeatIntervalMs: config.heartbeatIntervalMs,
  lockTimeoutMs: config.lockTimeoutMs,
  retry: { baseDelayMs: config.retryBaseDelayMs, maxDelayMs: config.retryMaxDelayMs },
});

let signals = 0;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    if (++signals > 1) {
      // The job's lock expires after JOB_LOCK_TIMEOUT_MS and another worker takes it back.
      log.warn({ signal }, "second signal: exiting without waiting");
      process.exit(1);
    }
    log.info({ signal }, "signal received: stopping after the current checkpoint");
    worker.stop();
  });
}

await worker.run();
await close();
process.exit(0);
