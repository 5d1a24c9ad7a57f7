import { setTimeout as sleep } from "node:timers/promises";
import { parseJobPayload, type JobName, type JobRepository, type JobRow, type RetryPolicy } from "@arbor/store";
import { isRetryable, JobLostError, WorkerShutdownError } from "./errors.ts";
import type { HandlerRegistry } from "./handler-registry.ts";
import type { HandlerContext, JobDependencies, JobOutcome } from "./job-handler.ts";
import type { Logger } from "./logger.ts";

export interface WorkerOptions {
  jobs: JobRepository;
  handlers: HandlerRegistry;
  dependencies: JobDependencies;
  workerId: string;
  log: Logger;
  /** Names this worker claims; default every name in `handlers`. */
  jobNames?: readonly JobName[];
  pollIntervalMs: number;
  heartbeatIntervalMs: number;
  lockTimeoutMs: number;
  retry: RetryPolicy;
}

/** How one claimed job ended for this worker. */
export type ProcessedOutcome =
  | "succeeded"
  | "skipped"
  /** Failed, back in the queue after its back-off. */
  | "retrying"
  | "failed"
  /** Cancelled or reclaimed while running: the outcome was dropped. */
  | "lost"
  /** Stopped by shutdown and put back in the queue. */
  | "released";

export interface ProcessedJob {
  jobId: string;
  name: string;
  outcome: ProcessedOutcome;
  /** The job row after the outcome was recorded (null when it was lost). */
  job: JobRow | null;
}

/**
 * The job loop: take stale jobs back, claim one, run its handler while a timer refreshes the lock,
 * record the outcome. One job at a time: the jobs here keep the machine's cores busy on their own.
 */
export class Worker {
  readonly #options: WorkerOptions;
  readonly #names: readonly JobName[];
  readonly #shutdown = new AbortController();

  constructor(options: WorkerOptions) {
    this.#options = options;
    this.#names = options.jobNames ?? [...options.handlers.keys()];
  }

  /** Polls until stop(): a running job is asked to stop at its next checkpoint and is put back. */
  async run(): Promise<void> {
    const { log, workerId } = this.#options;
    log.info({ workerId, jobs: this.#names }, "worker started");
    while (!this.#shutdown.signal.aborted) {
      let processed: ProcessedJob | null = null;
      try {
        processed = await this.runOnce();
      } catch (error) {
        // The database is unreachable or restarting: keep polling, a job's lock outlives short outages.
        log.error({ err: error }, "queue unavailable");
      }
      if (!processed) await sleep(this.#options.pollIntervalMs, undefined, { signal: this.#shutdown.signal }).catch(() => undefined);
    }
    log.info({ workerId }, "worker stopped");
  }

  stop(): void {
    this.#shutdown.abort(new WorkerShutdownError());
  }

  /** Reclaims stale jobs, then claims and runs one due job (or `onlyJobId`); null when none is due. */
  async runOnce(options: { onlyJobId?: string } = {}): Promise<ProcessedJob | null> {
    const { jobs, log, workerId, lockTimeoutMs } = this.#options;
    for (const job of await jobs.reclaimStale(lockTimeoutMs)) {
      log.warn({ jobId: job.id, job: job.name, status: job.status, attempts: job.attempts, error: job.error }, "reclaimed a job whose worker stopped heartbeating");
    }
    const job = await jobs.claim(workerId, this.#names, options);
    return job ? this.#process(job) : null;
  }

  async #process(job: JobRow): Promise<ProcessedJob> {
    const { jobs, workerId, handlers } = this.#options;
    let log = this.#options.log.child({ jobId: job.id, job: job.name, attempt: job.attempts });
    const name = job.name as JobName;
    const handler = handlers.get(name)!;
    let payload;
    try {
      payload = parseJobPayload(name, job.payload);
    } catch (error) {
      log.error({ err: error }, "job refused: invalid payload");
      return this.#record(job, log, { status: "failed", error: (error as Error).message, retryable: false });
    }
    if (payload.requestId) log = log.child({ requestId: payload.requestId });

    const controller = new AbortController();
    let lost: JobLostError | undefined;
    const markLost = () => {
      lost ??= new JobLostError(job.id);
      controller.abort(lost);
    };
    const onShutdown = () => controller.abort(this.#shutdown.signal.reason);
    this.#shutdown.signal.addEventListener("abort", onShutdown, { once: true });
    let beating = false;
    const heartbeat = setInterval(() => {
      if (beating) return;
      beating = true;
      jobs
        .heartbeat(job.id, workerId)
        .then((owned) => {
          if (!owned) markLost();
        })
        .catch((error: unknown) => log.warn({ err: error }, "heartbeat failed"))
        .finally(() => {
          beating = false;
        });
    }, this.#options.heartbeatIntervalMs);

    const context: HandlerContext = {
      jobId: job.id,
      attempt: job.attempts,
      maxAttempts: job.maxAttempts,
      previousProgress: job.progress ?? {},
      signal: controller.signal,
      log,
      deps: this.#options.dependencies,
      async saveProgress(progress) {
        if (!(await jobs.heartbeat(job.id, workerId, progress))) {
          markLost();
          throw lost;
        }
      },
    };

    const started = Date.now();
    log.info({ payload, attempt: job.attempts, maxAttempts: job.maxAttempts }, "job started");
    let outcome: JobOutcome;
    let thrown = false;
    try {
      outcome = await (handler.run as (payload: unknown, context: HandlerContext) => Promise<JobOutcome>)(payload, context);
    } catch (error) {
      thrown = true;
      outcome = { status: "failed", error: describe(error), retryable: isRetryable(error) };
      if (!lost && !this.#shutdown.signal.aborted) log.error({ err: error, retryable: outcome.retryable }, "job attempt failed");
    } finally {
      clearInterval(heartbeat);
      this.#shutdown.signal.removeEventListener("abort", onShutdown);
    }
    const seconds = (Date.now() - started) / 1000;

    if (lost) {
      const current = await jobs.getById(job.id);
      log.warn({ status: current?.status, seconds }, "job is no longer ours (cancelled or reclaimed): outcome dropped");
      return { jobId: job.id, name: job.name, outcome: "lost", job: null };
    }
    if (thrown && this.#shutdown.signal.aborted) {
      const released = await jobs.release(job.id, workerId);
      log.info({ seconds }, "worker stopping: job put back in the queue");
      return { jobId: job.id, name: job.name, outcome: released ? "released" : "lost", job: released };
    }
    return this.#record(job, log, outcome, seconds);
  }

  async #record(job: JobRow, log: Logger, outcome: JobOutcome, seconds = 0): Promise<ProcessedJob> {
    const { jobs, workerId, retry } = this.#options;
    let row: JobRow | null;
    let result: ProcessedOutcome;
    if (outcome.status === "failed") {
      row = await jobs.fail(job.id, workerId, outcome.error, { retryable: outcome.retryable, retry });
      result = row?.status === "queued" ? "retrying" : "failed";
      if (row?.status === "queued") log.warn({ error: outcome.error, retryAt: row.runAfter, attemptsLeft: row.maxAttempts - row.attempts, seconds }, "job will be retried");
      else if (row) log.error({ error: outcome.error, retryable: outcome.retryable, seconds }, "job failed");
    } else {
      const stored = outcome.status === "skipped" ? { skipped: true, reason: outcome.reason, ...outcome.result } : outcome.result;
      row = await jobs.complete(job.id, workerId, stored);
      result = outcome.status;
      if (row) log.info({ result: stored, seconds }, outcome.status === "skipped" ? "job skipped" : "job succeeded");
    }
    if (!row) {
      log.warn("job is no longer ours (cancelled or reclaimed): outcome dropped");
      return { jobId: job.id, name: job.name, outcome: "lost", job: null };
    }
    return { jobId: job.id, name: job.name, outcome: result, job: row };
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return `${error.name}${typeof code === "string" ? ` ${code}` : ""}: ${error.message}`;
}
