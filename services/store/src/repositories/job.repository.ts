import { createHash } from "node:crypto";
import type { Pool, PoolClient } from "../db.ts";
import { JOB_DEFINITIONS, type JobName, type JobPayloads } from "../jobs.ts";

export type JobStatus = "queued" | "running" | "succeeded" | "failed" | "cancelled";

export interface JobRow {
  id: string;
  name: string;
  /** As stored; the worker checks it with parseJobPayload before running. */
  payload: unknown;
  status: JobStatus;
  attempts: number;
  maxAttempts: number;
  runAfter: Date;
  lockedAt: Date | null;
  /** The worker holding the job while running; kept afterwards as the last worker that ran it. */
  lockedBy: string | null;
  progress: Record<string, unknown>;
  result: unknown;
  error: string | null;
  createdAt: Date;
  finishedAt: Date | null;
}

export interface EnqueueOptions {
  /**
   * Enqueueing again with the same key (and job name) returns the first job instead of adding one.
   * The key becomes the job's id (a name-based UUID), so no extra column or index is needed.
   */
  idempotencyKey?: string;
  /** Default: the job's JOB_DEFINITIONS entry. */
  maxAttempts?: number;
  /** Not before this many milliseconds from now. */
  delayMs?: number;
}

export interface RetryPolicy {
  /** Delay before the second attempt; doubled for each later one. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface JobStatusCount {
  name: string;
  status: JobStatus;
  count: number;
}

/** Anything that runs a query: the pool, or a transaction's client (to enqueue atomically with other writes). */
type Executor = Pick<PoolClient, "query">;

const COLUMNS = `id, name, payload, status::text AS status, attempts, max_attempts AS "maxAttempts", run_after AS "runAfter",
  locked_at AS "lockedAt", locked_by AS "lockedBy", progress, result, error, created_at AS "createdAt", finished_at AS "finishedAt"`;

/**
 * The durable job queue (table `job`). Every transition is one statement, so there is no window
 * in which a crash leaves a job half-moved; a running job is owned by the worker named in
 * `locked_by`, and a transition from `running` only applies while that worker still owns it.
 * A worker that dies stops refreshing `locked_at`, and `reclaimStale` puts its job back.
 *
 * The embedded PGlite has one backend shared by every connection and runs transactions one at a
 * time, so there SKIP LOCKED never actually meets a lock: a second claim waits for the first
 * transaction and then sees the row as running. The outcome (each job claimed once) is the same.
 */
export class JobRepository {
  constructor(private readonly pool: Pool) {}

  /** Adds a job; with an idempotency key, returns the existing job instead when there is one. */
  async enqueue<N extends JobName>(
    name: N,
    payload: JobPayloads[N],
    options: EnqueueOptions = {},
    executor: Executor = this.pool,
  ): Promise<{ job: JobRow; created: boolean }> {
    const id = options.idempotencyKey === undefined ? null : idempotentJobId(name, options.idempotencyKey);
    const { rows } = await executor.query<JobRow>(
      `INSERT INTO job (id, name, payload, max_attempts, run_after)
       VALUES (COALESCE($1::uuid, gen_random_uuid()), $2, $3::jsonb, $4, now() + $5::float8 * interval '1 millisecond')
       ON CONFLICT (id) DO NOTHING
       RETURNING ${COLUMNS}`,
      [id, name, JSON.stringify(payload), options.maxAttempts ?? JOB_DEFINITIONS[name].maxAttempts, options.delayMs ?? 0],
    );
    if (rows[0]) return { job: rows[0], created: true };
    const { rows: existing } = await executor.query<JobRow>(`SELECT ${COLUMNS} FROM job WHERE id = $1`, [id]);
    return { job: existing[0]!, created: false };
  }

  /**
   * Takes the next due job among `names` (or the one job `onlyJobId`): marks it running, owned by
   * `workerId`, and counts the attempt. FOR UPDATE SKIP LOCKED lets concurrent workers pass over a
   * row another claim is taking, so each job goes to exactly one worker. Null when none is due.
   */
  async claim(workerId: string, names: readonly string[], options: { onlyJobId?: string } = {}, executor: Executor = this.pool): Promise<JobRow | null> {
    const { rows } = await executor.query<JobRow>(
      `UPDATE job j SET status = 'running', locked_by = $1, locked_at = now(), attempts = j.attempts + 1
        WHERE j.id = (SELECT id FROM job
                       WHERE status = 'queued' AND run_after <= now() AND name = ANY($2::text[])
                         AND ($3::uuid IS NULL OR id = $3::uuid)
                       ORDER BY run_after, seq
                       LIMIT 1
                       FOR UPDATE SKIP LOCKED)
        RETURNING ${COLUMNS}`,
      [workerId, names, options.onlyJobId ?? null],
    );
    return rows[0] ?? null;
  }

  /**
   * Refreshes the lock (and saves `progress` when given). False when the worker no longer owns the
   * job: it was cancelled, or reclaimed after this worker missed its heartbeats.
   */
  async heartbeat(id: string, workerId: string, progress?: Record<string, unknown>): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE job SET locked_at = now(), progress = COALESCE($3::jsonb, progress)
        WHERE id = $1 AND status = 'running' AND locked_by = $2`,
      [id, workerId, progress === undefined ? null : JSON.stringify(progress)],
    );
    return rowCount === 1;
  }

  /** Marks the job succeeded; null when the worker no longer owns it (the outcome is then dropped). */
  async complete(id: string, workerId: string, result: unknown): Promise<JobRow | null> {
    const { rows } = await this.pool.query<JobRow>(
      `UPDATE job SET status = 'succeeded', result = $3::jsonb, error = NULL, locked_at = NULL, finished_at = now()
        WHERE id = $1 AND status = 'running' AND locked_by = $2
        RETURNING ${COLUMNS}`,
      [id, workerId, JSON.stringify(result ?? null)],
    );
    return rows[0] ?? null;
  }

  /**
   * Records a failed attempt. A retryable failure with attempts left goes back to the queue after
   * an exponential back-off (base × 2^(attempt−1), capped); otherwise the job is failed for good.
   * Null when the worker no longer owns the job.
   */
  async fail(id: string, workerId: string, error: string, options: { retryable: boolean; retry: RetryPolicy }): Promise<JobRow | null> {
    const { rows } = await this.pool.query<JobRow>(
      `UPDATE job SET
         status = CASE WHEN $3 AND attempts < max_attempts THEN 'queued' ELSE 'failed' END::job_status,
         run_after = CASE WHEN $3 AND attempts < max_attempts
                          THEN now() + least($5::float8, $4::float8 * power(2, greatest(attempts - 1, 0))) * interval '1 millisecond'
                          ELSE run_after END,
         locked_by = CASE WHEN $3 AND attempts < max_attempts THEN NULL ELSE locked_by END,
         locked_at = NULL,
         error = $6,
         finished_at = CASE WHEN $3 AND attempts < max_attempts THEN NULL ELSE now() END
        WHERE id = $1 AND status = 'running' AND locked_by = $2
        RETURNING ${COLUMNS}`,
      [id, workerId, options.retryable, options.retry.baseDelayMs, options.retry.maxDelayMs, error],
    );
    return rows[0] ?? null;
  }

  /**
   * Puts a running job back in the queue without counting the attempt: the worker is shutting down
   * and stopped the job between two checkpoints, through no fault of the job.
   */
  async release(id: string, workerId: string): Promise<JobRow | null> {
    const { rows } = await this.pool.query<JobRow>(
      `UPDATE job SET status = 'queued', attempts = greatest(attempts - 1, 0), locked_by = NULL, locked_at = NULL, run_after = now()
        WHERE id = $1 AND status = 'running' AND locked_by = $2
        RETURNING ${COLUMNS}`,
      [id, workerId],
    );
    return rows[0] ?? null;
  }

  /**
   * Running jobs whose worker has not refreshed the lock for `staleAfterMs` (it crashed, or lost
   * the database): back to the queue when attempts remain, otherwise failed. The lost attempt
   * counts, so a job that kills its worker every time ends after max_attempts.
   */
  async reclaimStale(staleAfterMs: number): Promise<JobRow[]> {
    const { rows } = await this.pool.query<JobRow>(
      `UPDATE job SET
         status = CASE WHEN attempts < max_attempts THEN 'queued' ELSE 'failed' END::job_status,
         error = format('worker %s stopped refreshing its lock (last at %s): attempt %s of %s lost',
                        locked_by, locked_at, attempts, max_attempts),
         locked_by = CASE WHEN attempts < max_attempts THEN NULL ELSE locked_by END,
         locked_at = NULL,
         run_after = now(),
         finished_at = CASE WHEN attempts < max_attempts THEN NULL ELSE now() END
        WHERE id IN (SELECT id FROM job
                      WHERE status = 'running' AND locked_at < now() - $1::float8 * interval '1 millisecond'
                      FOR UPDATE SKIP LOCKED)
        RETURNING ${COLUMNS}`,
      [staleAfterMs],
    );
    return rows;
  }

  /**
   * Cancels a queued or running job. A running job's worker notices at its next heartbeat and
   * stops; its outcome is then dropped. Null when the job is unknown or already finished.
   */
  async cancel(id: string): Promise<JobRow | null> {
    const { rows } = await this.pool.query<JobRow>(
      `UPDATE job SET status = 'cancelled', locked_at = NULL, finished_at = now()
        WHERE id = $1 AND status IN ('queued', 'running')
        RETURNING ${COLUMNS}`,
      [id],
    );
    return rows[0] ?? null;
  }

  async getById(id: string): Promise<JobRow | null> {
    const { rows } = await this.pool.query<JobRow>(`SELECT ${COLUMNS} FROM job WHERE id = $1`, [id]);
    return rows[0] ?? null;
  }

  /** Most recent first. */
  async getAll(filter: { name?: string; status?: JobStatus; limit: number }): Promise<JobRow[]> {
    const { rows } = await this.pool.query<JobRow>(
      `SELECT ${COLUMNS} FROM job
        WHERE ($1::text IS NULL OR name = $1) AND ($2::job_status IS NULL OR status = $2::job_status)
        ORDER BY seq DESC LIMIT $3`,
      [filter.name ?? null, filter.status ?? null, filter.limit],
    );
    return rows;
  }

  async countByStatus(): Promise<JobStatusCount[]> {
    const { rows } = await this.pool.query<JobStatusCount>(
      `SELECT name, status::text AS status, count(*)::int AS count FROM job GROUP BY name, status ORDER BY name, status`,
    );
    return rows;
  }
}

/** The job id an idempotency key stands for: a name-based UUID (RFC 9562 version 8) of job name and key. */
export function idempotentJobId(name: string, key: string): string {
  const bytes = createHash("sha256").update(`arbor-job\u0000${name}\u0000${key}`).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
