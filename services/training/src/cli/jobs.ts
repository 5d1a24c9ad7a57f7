// `npm run jobs -- <command>`: enqueue, run, inspect and cancel Arbor's jobs (see ../../README.md).
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { InferenceClient } from "@arbor/inference/client.ts";
import {
  isJobName,
  JOB_DEFINITIONS,
  JOB_NAMES,
  JobPayloadError,
  parseJobPayload,
  parseModelRef,
  type JobName,
  type JobRow,
  type JobStatus,
  type Store,
} from "@arbor/store";
import { ConfigError, loadConfig, type TrainingConfig } from "../config.ts";
import { openStore } from "../database.ts";
import { buildHandlerRegistry } from "../handler-registry.ts";
import { HANDLERS } from "../handlers/index.ts";
import { createLogger, type Logger } from "../logger.ts";
import { Worker } from "../worker.ts";
import { allPayloadFlagTypes, describePayloadFlags, payloadFromFlags, UsageError } from "./payload-flags.ts";

const STATUSES: readonly JobStatus[] = ["queued", "running", "succeeded", "failed", "cancelled"];

function usage(): string {
  const jobs = JOB_NAMES.flatMap((name) => [
    `  ${name}: ${JOB_DEFINITIONS[name].description}`,
    ...describePayloadFlags(name),
    ...(name === "embed-taxa-text" ? [`    --${"model NAME@VERSION".padEnd(28)} instead of --model-version-id`] : []),
  ]);
  return `usage: npm run jobs -- <command> [options]

commands:
  enqueue <job> [payload options]   add a job to the queue and print its id (a worker runs it)
  run <job> [payload options]       enqueue a job and run it in this process (no worker needed)
  status [<job-id>]                 counts per job and status, and the latest jobs; or one job in full
  cancel <job-id>                   cancel a queued or running job (a running one stops at its next checkpoint)

jobs and their payload options:
${jobs.join("\n")}

enqueue / run options:
  --payload JSON            the whole payload as JSON (payload options override its fields)
  --idempotency-key KEY     enqueue only once per key: repeating returns the first job
  --max-attempts N          default per job (${JOB_NAMES.map((name) => `${name} ${JOB_DEFINITIONS[name].maxAttempts}`).join(", ")})
  --delay-ms N              not before N ms from now (enqueue only)

status options:
  --name JOB  --status ${STATUSES.join("|")}  --limit N (default 20)  --format table|json

The database is DATABASE_URL, else the embedded one in $DATA_DIR/pglite; run needs INFERENCE_URL for
embed-taxa-text. See services/training/README.md for every variable.
`;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...allPayloadFlagTypes(),
      model: { type: "string" },
      payload: { type: "string" },
      "idempotency-key": { type: "string" },
      "max-attempts": { type: "string" },
      "delay-ms": { type: "string" },
      name: { type: "string" },
      status: { type: "string" },
      limit: { type: "string" },
      format: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const [command, argument] = positionals;
  if (values.help || !command) {
    process.stdout.write(usage());
    return values.help ? 0 : 2;
  }
  if (!["enqueue", "run", "status", "cancel"].includes(command)) throw new UsageError(`unknown command "${command}"`);
  if ((command === "enqueue" || command === "run") && (!argument || !isJobName(argument))) {
    throw new UsageError(`${command} needs a job name: ${JOB_NAMES.join(", ")}`);
  }
  if (command === "cancel" && !argument) throw new UsageError("cancel needs a job id");
  if (values.format !== undefined && values.format !== "table" && values.format !== "json") throw new UsageError("--format must be table or json");
  if (values.status !== undefined && !STATUSES.includes(values.status as JobStatus)) throw new UsageError(`--status must be one of ${STATUSES.join(", ")}`);

  const config = loadConfig();
  const log = createLogger(config.logLevel);
  const { store, close } = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2, log });
  try {
    if (command === "status") return await showStatus(store, argument, values);
    if (command === "cancel") return await cancel(store, argument!);
    const name = argument as JobName;
    const payload = parseJobPayload(name, await buildPayload(store, name, values));
    const { job, created } = await store.jobs.enqueue(name, payload, {
      idempotencyKey: values["idempotency-key"],
      maxAttempts: integer("max-attempts", values["max-attempts"]),
      delayMs: command === "enqueue" ? integer("delay-ms", values["delay-ms"]) : undefined,
    });
    if (command === "enqueue") {
      process.stdout.write(`${created ? "enqueued" : "already enqueued (same idempotency key)"}: ${job.id} ${job.name} ${job.status}\n`);
      return 0;
    }
    if (!created && job.status !== "queued") {
      process.stdout.write(`job ${job.id} (same idempotency key) is already ${job.status}\n`);
      return job.status === "succeeded" ? 0 : 1;
    }
    return await runInline(store, config, log, job);
  } finally {
    await close();
  }
}

async function buildPayload(store: Store, name: JobName, values: Record<string, string | boolean | undefined>): Promise<Record<string, unknown>> {
  let base: Record<string, unknown> = {};
  if (typeof values.payload === "string") {
    try {
      base = JSON.parse(values.payload) as Record<string, unknown>;
    } catch {
      throw new UsageError("--payload is not valid JSON");
    }
  }
  const payload = { ...base, ...payloadFromFlags(name, values) };
  if (name === "embed-taxa-text" && typeof values.model === "string" && payload.modelVersionId === undefined) {
    const { name: modelName, version } = parseModelRef(values.model);
    const model = (await store.modelVersions.getAll()).find((row) => row.name === modelName && row.version === version);
    if (!model) throw new UsageError(`no model version ${values.model}`);
    payload.modelVersionId = model.id;
  }
  return payload;
}

/** Runs one job here, as a worker would, until it succeeds, fails or waits for a retry. */
async function runInline(store: Store, config: TrainingConfig, log: Logger, job: JobRow): Promise<number> {
  const worker = new Worker({
    jobs: store.jobs,
    handlers: buildHandlerRegistry(HANDLERS),
    dependencies: { store, inference: new InferenceClient({ baseUrl: config.inferenceUrl, timeoutMs: config.inferenceTimeoutMs }), config },
    workerId: `cli:${hostname()}:${process.pid}`,
    log,
    pollIntervalMs: config.pollIntervalMs,
    heartbeatIntervalMs: config.heartbeatIntervalMs,
    lockTimeoutMs: config.lockTimeoutMs,
    retry: { baseDelayMs: config.retryBaseDelayMs, maxDelayMs: config.retryMaxDelayMs },
  });
  process.once("SIGINT", () => worker.stop());
  process.once("SIGTERM", () => worker.stop());
  const processed = await worker.runOnce({ onlyJobId: job.id });
  if (!processed) {
    process.stdout.write(`job ${job.id} is not due yet or was taken by a worker; see: npm run jobs -- status ${job.id}\n`);
    return 1;
  }
  const row = processed.job ?? (await store.jobs.getById(job.id));
  process.stdout.write(`${job.id} ${job.name}: ${processed.outcome}\n`);
  if (row?.result !== undefined && row.result !== null) process.stdout.write(`${JSON.stringify(row.result, null, 2)}\n`);
  if (processed.outcome === "retrying") process.stdout.write(`error: ${row?.error}\nretried by a worker after ${row?.runAfter.toISOString()}\n`);
  if (processed.outcome === "failed") process.stdout.write(`error: ${row?.error}\n`);
  return processed.outcome === "succeeded" || processed.outcome === "skipped" ? 0 : 1;
}

async function showStatus(store: Store, jobId: string | undefined, values: Record<string, string | boolean | undefined>): Promise<number> {
  if (jobId) {
    const job = await store.jobs.getById(jobId);
    if (!job) {
      process.stdout.write(`no job ${jobId}\n`);
      return 1;
    }
    process.stdout.write(`${JSON.stringify(job, null, 2)}\n`);
    return 0;
  }
  const counts = await store.jobs.countByStatus();
  const jobs = await store.jobs.getAll({
    name: typeof values.name === "string" ? values.name : undefined,
    status: values.status as JobStatus | undefined,
    limit: integer("limit", typeof values.limit === "string" ? values.limit : undefined) ?? 20,
  });
  if (values.format === "json") {
    process.stdout.write(`${JSON.stringify({ counts, jobs }, null, 2)}\n`);
    return 0;
  }
  const names = [...new Set([...JOB_NAMES, ...counts.map((row) => row.name)])];
  const lines = [["job", ...STATUSES]];
  for (const name of names) {
    lines.push([name, ...STATUSES.map((status) => String(counts.find((row) => row.name === name && row.status === status)?.count ?? 0))]);
  }
  process.stdout.write(`${table(lines)}\n\n`);
  if (jobs.length === 0) {
    process.stdout.write("no jobs\n");
    return 0;
  }
  const rows = [["id", "job", "status", "attempts", "progress", "created", "finished", "error"]];
  for (const job of jobs) {
    rows.push([
      job.id,
      job.name,
      job.status,
      `${job.attempts}/${job.maxAttempts}`,
      describeProgress(job.progress),
      job.createdAt.toISOString().slice(0, 19),
      job.finishedAt?.toISOString().slice(0, 19) ?? "",
      (job.error ?? "").slice(0, 80),
    ]);
  }
  process.stdout.write(`${table(rows)}\n`);
  return 0;
}

async function cancel(store: Store, jobId: string): Promise<number> {
  const job = await store.jobs.cancel(jobId);
  if (!job) {
    const current = await store.jobs.getById(jobId);
    process.stdout.write(current ? `job ${jobId} is already ${current.status}\n` : `no job ${jobId}\n`);
    return 1;
  }
  process.stdout.write(`cancelled: ${job.id} ${job.name}\n`);
  return 0;
}

function describeProgress(progress: Record<string, unknown>): string {
  const done = Number(progress.done);
  const total = Number(progress.total);
  if (!Number.isFinite(done) || !Number.isFinite(total)) return "";
  return total > 0 ? `${done}/${total} (${Math.floor((100 * done) / total)}%)` : `${done}`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join("  ").trimEnd()).join("\n");
}

function integer(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number < 0) throw new UsageError(`--${name} must be a non-negative integer, got "${value}"`);
  return number;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  if (error instanceof UsageError || error instanceof ConfigError || error instanceof JobPayloadError || (error as Error).name === "ImportUsageError") {
    process.stderr.write(`${(error as Error).message}\n\nrun with --help for usage\n`);
    process.exitCode = 2;
  } else if ((error as { code?: string }).code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  }
}
