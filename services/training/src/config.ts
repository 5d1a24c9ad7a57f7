// The one place the training worker (and the jobs CLI) read the environment. README.md documents
// every variable; keep the two in step.
import { hostname } from "node:os";
import { z } from "zod";
import { isJobName, JOB_NAMES, type JobName } from "@arbor/store/jobs.ts";

export interface TrainingConfig {
  /** postgresql:// URL; undefined: the embedded database in `dataDir`. */
  databaseUrl: string | undefined;
  dataDir: string;
  dbPoolSize: number;
  inferenceUrl: string;
  inferenceTimeoutMs: number;
  /** Texts per embedding request: at most the service's MAX_TEXTS_PER_REQUEST. */
  inferenceMaxTextsPerRequest: number;
  /** Embedding requests one job keeps in flight (the service micro-batches them). */
  inferenceConcurrency: number;
  workerId: string;
  /** Job names this worker takes. */
  jobNames: JobName[];
  pollIntervalMs: number;
  heartbeatIntervalMs: number;
  /** A running job whose lock is older than this is taken back (its worker is presumed dead). */
  lockTimeoutMs: number;
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

const int = (min: number) => z.coerce.number().int().min(min);

const jobNameList = z
  .string()
  .transform((value) => value.split(",").map((item) => item.trim()).filter(Boolean))
  .pipe(z.array(z.string().refine(isJobName, { message: `job names are ${JOB_NAMES.join(", ")}` })).min(1));

const EnvSchema = z
  .object({
    DATABASE_URL: z.string().url().optional(),
    DATA_DIR: z.string().min(1).default(".arbor/data"),
    DB_POOL_SIZE: int(2).max(100).default(4),
    INFERENCE_URL: z.string().url().default("http://127.0.0.1:4100"),
    INFERENCE_TIMEOUT_MS: int(1000).default(120_000),
    INFERENCE_MAX_TEXTS_PER_REQUEST: int(1).default(128),
    INFERENCE_CONCURRENCY: int(1).max(16).default(2),
    WORKER_ID: z.string().min(1).default(`${hostname()}:${process.pid}`),
    WORKER_JOBS: jobNameList.default([...JOB_NAMES]),
    JOB_POLL_INTERVAL_MS: int(10).default(1_000),
    JOB_HEARTBEAT_INTERVAL_MS: int(10).default(10_000),
    JOB_LOCK_TIMEOUT_MS: int(100).default(120_000),
    JOB_RETRY_BASE_DELAY_MS: int(0).default(10_000),
    JOB_RETRY_MAX_DELAY_MS: int(0).default(15 * 60_000),
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  })
  .superRefine((env, ctx) => {
    // A lock must survive a late heartbeat or two, or a healthy worker would lose its job.
    if (env.JOB_LOCK_TIMEOUT_MS < 3 * env.JOB_HEARTBEAT_INTERVAL_MS) {
      ctx.addIssue({ code: "custom", path: ["JOB_LOCK_TIMEOUT_MS"], message: `must be at least 3 × JOB_HEARTBEAT_INTERVAL_MS (${3 * env.JOB_HEARTBEAT_INTERVAL_MS})` });
    }
    if (env.JOB_RETRY_MAX_DELAY_MS < env.JOB_RETRY_BASE_DELAY_MS) {
      ctx.addIssue({ code: "custom", path: ["JOB_RETRY_MAX_DELAY_MS"], message: "must be at least JOB_RETRY_BASE_DELAY_MS" });
    }
  });

/** Reads and validates the environment. Empty variables count as unset. Throws ConfigError listing every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): TrainingConfig {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ""));
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
    throw new ConfigError(`invalid training configuration: ${problems.join("; ")}`);
  }
  const e = parsed.data;
  return {
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DATA_DIR,
    dbPoolSize: e.DB_POOL_SIZE,
    inferenceUrl: e.INFERENCE_URL,
    inferenceTimeoutMs: e.INFERENCE_TIMEOUT_MS,
    inferenceMaxTextsPerRequest: e.INFERENCE_MAX_TEXTS_PER_REQUEST,
    inferenceConcurrency: e.INFERENCE_CONCURRENCY,
    workerId: e.WORKER_ID,
    jobNames: e.WORKER_JOBS as JobName[],
    pollIntervalMs: e.JOB_POLL_INTERVAL_MS,
    heartbeatIntervalMs: e.JOB_HEARTBEAT_INTERVAL_MS,
    lockTimeoutMs: e.JOB_LOCK_TIMEOUT_MS,
    retryBaseDelayMs: e.JOB_RETRY_BASE_DELAY_MS,
    retryMaxDelayMs: e.JOB_RETRY_MAX_DELAY_MS,
    logLevel: e.LOG_LEVEL,
  };
}
