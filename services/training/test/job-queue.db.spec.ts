// The durable queue (services/store JobRepository) on PGlite, and on a real PostgreSQL when
// TEST_DATABASE_URL is set.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { idempotentJobId, withTransaction, type JobRepository, type Pool } from "@arbor/store";
import { openTestDatabase, type TestDatabase } from "./support/helpers.ts";

let db: TestDatabase;
let pool: Pool;
let jobs: JobRepository;

beforeAll(async () => {
  db = await openTestDatabase();
  pool = db.store.pool;
  jobs = db.store.jobs;
});
afterAll(async () => {
  await db?.close();
});
beforeEach(async () => {
  await pool.query(`DELETE FROM job`);
});

const NAMES = ["embed-taxa-text", "import-text-embeddings"];
const RETRY = { baseDelayMs: 60_000, maxDelayMs: 10 * 60_000 };
const embedPayload = (modelVersionId = 1) => ({ modelVersionId });

/** Seconds from the database's now() to `date`. */
async function secondsFromNow(date: Date): Promise<number> {
  const { rows } = await pool.query<{ seconds: number }>(`SELECT extract(epoch FROM ($1::timestamptz - now()))::float8 AS seconds`, [date]);
  return rows[0]!.seconds;
}

/** Makes a running job's lock look `ms` old, as if its worker had stopped heartbeating then. */
async function ageLock(id: string, ms: number): Promise<void> {
  await pool.query(`UPDATE job SET locked_at = now() - $2::float8 * interval '1 millisecond' WHERE id = $1`, [id, ms]);
}

describe("enqueue", () => {
  it("adds a queued job with the job's default attempts, due now", async () => {
    const { job, created } = await jobs.enqueue("import-text-embeddings", { npyPath: "/a.npy", jsonPath: "/a.json", modelVersion: "bioclip-2@1" });
    expect(created).toBe(true);
    expect(job).toMatchObject({ name: "import-text-embeddings", status: "queued", attempts: 0, maxAttempts: 3, lockedBy: null, progress: {}, result: null });
    expect(job.payload).toEqual({ npyPath: "/a.npy", jsonPath: "/a.json", modelVersion: "bioclip-2@1" });
    expect(Math.abs(await secondsFromNow(job.runAfter))).toBeLessThan(5);
    expect((await jobs.getById(job.id))?.status).toBe("queued");
  });

  it("returns the first job for a repeated idempotency key, per job name", async () => {
    const first = await jobs.enqueue("embed-taxa-text", embedPayload(1), { idempotencyKey: "nightly-2026-11-28" });
    const again = await jobs.enqueue("embed-taxa-text", embedPayload(2), { idempotencyKey: "nightly-2026-11-28" });
    const other = await jobs.enqueue("embed-taxa-text", embedPayload(1), { idempotencyKey: "nightly-2026-11-29" });
    const otherName = await jobs.enqueue("import-text-embeddings", { npyPath: "/n", jsonPath: "/j", modelVersion: "m@1" }, { idempotencyKey: "nightly-2026-11-28" });
    expect(again).toEqual({ job: first.job, created: false });
    expect(again.job.payload).toEqual({ modelVersionId: 1 });
    expect(first.job.id).toBe(idempotentJobId("embed-taxa-text", "nightly-2026-11-28"));
    expect(new Set([first.job.id, other.job.id, otherName.job.id]).size).toBe(3);
    expect((await pool.query(`SELECT count(*)::int AS n FROM job`)).rows[0].n).toBe(3);
  });

  it("enqueues atomically with the caller's transaction", async () => {
    await expect(
      withTransaction(pool, async (client) => {
        await jobs.enqueue("embed-taxa-text", embedPayload(), {}, client);
        throw new Error("rolled back");
      }),
    ).rejects.toThrow("rolled back");
    expect((await pool.query(`SELECT count(*)::int AS n FROM job`)).rows[0].n).toBe(0);
  });
});

describe("claim", () => {
  it("marks the oldest due job running, owned by the worker, and counts the attempt", async () => {
    const first = (await jobs.enqueue("embed-taxa-text", embedPayload(1))).job;
    await jobs.enqueue("embed-taxa-text", embedPayload(2));
    const claimed = await jobs.claim("worker-a", NAMES);
    expect(claimed).toMatchObject({ id: first.id, status: "running", lockedBy: "worker-a", attempts: 1 });
    expect(claimed!.lockedAt).toBeInstanceOf(Date);
  });

  it("claims in enqueue order even when the timestamps tie", async () => {
    // One transaction: both rows get the same now(), so only the enqueue sequence can order them.
    const enqueued = await withTransaction(pool, async (client) => {
      const out = [];
      for (let i = 0; i < 8; i++) out.push((await jobs.enqueue("embed-taxa-text", embedPayload(i + 1), {}, client)).job.id);
      return out;
    });
    const claimed = [];
    for (let i = 0; i < enqueued.length; i++) claimed.push((await jobs.claim("worker-a", NAMES))!.id);
    expect(claimed).toEqual(enqueued);
  });

  it("skips jobs that are not due, of other names, or not the one asked for", async () => {
    await jobs.enqueue("embed-taxa-text", embedPayload(), { delayMs: 60_000 });
    const imports = (await jobs.enqueue("import-text-embeddings", { npyPath: "/n", jsonPath: "/j", modelVersion: "m@1" })).job;
    const embed = (await jobs.enqueue("embed-taxa-text", embedPayload())).job;
    expect(await jobs.claim("w", ["embed-taxa-text"], { onlyJobId: imports.id })).toBeNull();
    expect((await jobs.claim("w", ["embed-taxa-text"]))?.id).toBe(embed.id);
    expect(await jobs.claim("w", ["embed-taxa-text"])).toBeNull();
    expect((await jobs.claim("w", NAMES, { onlyJobId: imports.id }))?.id).toBe(imports.id);
  });

  it("hands each job to exactly one of many concurrent claimers", async () => {
    const ids = [];
    for (let i = 0; i < 6; i++) ids.push((await jobs.enqueue("embed-taxa-text", embedPayload(i + 1))).job.id);
    const claims = await Promise.all(Array.from({ length: 12 }, (_, i) => jobs.claim(`worker-${i}`, NAMES)));
    const claimed = claims.filter((job) => job !== null).map((job) => job!.id);
    expect(claimed.sort()).toEqual([...ids].sort());
    const { rows } = await pool.query<{ attempts: number; status: string }>(`SELECT attempts, status::text FROM job`);
    expect(rows.every((row) => row.attempts === 1 && row.status === "running")).toBe(true);
  });

  it("passes over a row another transaction has locked (FOR UPDATE SKIP LOCKED)", async () => {
    const first = (await jobs.enqueue("embed-taxa-text", embedPayload(1))).job;
    const second = (await jobs.enqueue("embed-taxa-text", embedPayload(2))).job;
    const holder = await pool.connect();
    let secondClaim: Promise<{ id: string | undefined; beforeCommit: boolean }>;
    let committed = false;
    try {
      await holder.query("BEGIN");
      // Claimed inside an open transaction: the row stays locked until COMMIT.
      expect((await jobs.claim("worker-a", NAMES, {}, holder))?.id).toBe(first.id);
      secondClaim = jobs.claim("worker-b", NAMES).then((job) => ({ id: job?.id, beforeCommit: !committed }));
      if (db.kind === "postgres") {
        // A real server answers at once, with the next unlocked row.
        expect(await secondClaim).toEqual({ id: second.id, beforeCommit: true });
      } else {
        // PGlite runs one transaction at a time: the claim waits for the commit, then sees the row running.
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      committed = true;
      await holder.query("COMMIT");
    } finally {
      holder.release();
    }
    expect(await secondClaim!).toEqual({ id: second.id, beforeCommit: db.kind === "postgres" });
  });
});

describe("heartbeat, complete, fail, release", () => {
  it("refreshes the lock and saves progress only for the owning worker", async () => {
    const job = (await jobs.enqueue("embed-taxa-text", embedPayload())).job;
    await jobs.claim("worker-a", NAMES);
    await ageLock(job.id, 30_000);
    expect(await jobs.heartbeat(job.id, "worker-b", { done: 9 })).toBe(false);
    expect(await jobs.heartbeat(job.id, "worker-a", { done: 2, total: 5 })).toBe(true);
    const row = (await jobs.getById(job.id))!;
    expect(row.progress).toEqual({ done: 2, total: 5 });
    expect(Math.abs(await secondsFromNow(row.lockedAt!))).toBeLessThan(5);
    expect(await jobs.heartbeat(job.id, "worker-a")).toBe(true);
    expect((await jobs.getById(job.id))!.progress).toEqual({ done: 2, total: 5 });
  });

  it("completes with a result; a worker that lost the job cannot record one", async () => {
    const job = (await jobs.enqueue("embed-taxa-text", embedPayload())).job;
    await jobs.claim("worker-a", NAMES);
    expect(await jobs.complete(job.id, "worker-b", { embedded: 1 })).toBeNull();
    const done = await jobs.complete(job.id, "worker-a", { embedded: 5 });
    expect(done).toMatchObject({ status: "succeeded", result: { embedded: 5 }, lockedAt: null, lockedBy: "worker-a", error: null });
    expect(done!.finishedAt).toBeInstanceOf(Date);
    expect(await jobs.complete(job.id, "worker-a", { embedded: 6 })).toBeNull();
  });

  it("retries a retryable failure after an exponential back-off, then fails for good at max attempts", async () => {
    const job = (await jobs.enqueue("embed-taxa-text", embedPayload(), { maxAttempts: 3 })).job;
    const expectedDelays = [60, 120];
    for (const [attempt, delay] of expectedDelays.entries()) {
      await pool.query(`UPDATE job SET run_after = now() WHERE id = $1`, [job.id]);
      expect((await jobs.claim("w", NAMES))?.attempts).toBe(attempt + 1);
      const failed = (await jobs.fail(job.id, "w", `outage ${attempt + 1}`, { retryable: true, retry: RETRY }))!;
      expect(failed).toMatchObject({ status: "queued", error: `outage ${attempt + 1}`, lockedBy: null, finishedAt: null });
      expect(await secondsFromNow(failed.runAfter)).toBeCloseTo(delay, -1);
      expect(await jobs.claim("w", NAMES)).toBeNull();
    }
    await pool.query(`UPDATE job SET run_after = now() WHERE id = $1`, [job.id]);
    await jobs.claim("w", NAMES);
    const last = (await jobs.fail(job.id, "w", "outage 3", { retryable: true, retry: RETRY }))!;
    expect(last).toMatchObject({ status: "failed", attempts: 3, error: "outage 3" });
    expect(last.finishedAt).toBeInstanceOf(Date);
  });

  it("caps the back-off and fails a permanent error at once", async () => {
    const capped = (await jobs.enqueue("embed-taxa-text", embedPayload(), { maxAttempts: 10 })).job;
    await pool.query(`UPDATE job SET attempts = 7 WHERE id = $1`, [capped.id]);
    await jobs.claim("w", NAMES);
    const retried = (await jobs.fail(capped.id, "w", "slow", { retryable: true, retry: { baseDelayMs: 60_000, maxDelayMs: 300_000 } }))!;
    expect(await secondsFromNow(retried.runAfter)).toBeCloseTo(300, -1);

    const permanent = (await jobs.enqueue("embed-taxa-text", embedPayload())).job;
    await jobs.claim("w", NAMES, { onlyJobId: permanent.id });
    expect(await jobs.fail(permanent.id, "w", "no such model", { retryable: false, retry: RETRY })).toMatchObject({ status: "failed", attempts: 1 });
  });

  it("releases a job without counting the attempt (worker shutdown)", async () => {
    const job = (await jobs.enqueue("embed-taxa-text", embedPayload())).job;
    await jobs.claim("w", NAMES);
    expect(await jobs.release(job.id, "other")).toBeNull();
    expect(await jobs.release(job.id, "w")).toMatchObject({ status: "queued", attempts: 0, lockedBy: null, lockedAt: null });
    expect((await jobs.claim("w2", NAMES))?.id).toBe(job.id);
  });
});

describe("reclaiming stale jobs", () => {
  it("puts a job whose worker stopped heartbeating back in the queue, leaving live ones alone", async () => {
    const crashed = (await jobs.enqueue("embed-taxa-text", embedPayload(1))).job;
    const alive = (await jobs.enqueue("embed-taxa-text", embedPayload(2))).job;
    await jobs.claim("dead-worker", NAMES);
    await jobs.claim("live-worker", NAMES);
    await ageLock(crashed.id, 10 * 60_000);
    const reclaimed = await jobs.reclaimStale(120_000);
    expect(reclaimed.map((job) => job.id)).toEqual([crashed.id]);
    expect(reclaimed[0]).toMatchObject({ status: "queued", attempts: 1, lockedBy: null, lockedAt: null });
    expect(reclaimed[0]!.error).toMatch(/worker dead-worker stopped refreshing its lock .*attempt 1 of 5 lost/);
    expect((await jobs.getById(alive.id))?.status).toBe("running");
    // The crashed worker, should it come back, no longer owns the job.
    expect(await jobs.heartbeat(crashed.id, "dead-worker")).toBe(false);
    expect(await jobs.complete(crashed.id, "dead-worker", {})).toBeNull();
    expect(await jobs.claim("new-worker", NAMES)).toMatchObject({ id: crashed.id, attempts: 2, lockedBy: "new-worker" });
  });

  it("fails a job that lost its worker on its last attempt", async () => {
    const job = (await jobs.enqueue("embed-taxa-text", embedPayload(), { maxAttempts: 1 })).job;
    await jobs.claim("dead-worker", NAMES);
    await ageLock(job.id, 10 * 60_000);
    const [reclaimed] = await jobs.reclaimStale(120_000);
    expect(reclaimed).toMatchObject({ id: job.id, status: "failed", attempts: 1, lockedBy: "dead-worker" });
    expect(reclaimed!.finishedAt).toBeInstanceOf(Date);
  });
});

describe("cancel and status", () => {
  it("cancels queued and running jobs; the running job's worker loses it", async () => {
    const queued = (await jobs.enqueue("embed-taxa-text", embedPayload(1))).job;
    const running = (await jobs.enqueue("embed-taxa-text", embedPayload(2), { delayMs: 0 })).job;
    await jobs.claim("w", NAMES, { onlyJobId: running.id });
    expect(await jobs.cancel(queued.id)).toMatchObject({ status: "cancelled" });
    expect(await jobs.cancel(running.id)).toMatchObject({ status: "cancelled" });
    expect(await jobs.heartbeat(running.id, "w")).toBe(false);
    expect(await jobs.complete(running.id, "w", {})).toBeNull();
    expect(await jobs.cancel(running.id)).toBeNull();
    expect(await jobs.claim("w", NAMES)).toBeNull();
  });

  it("counts jobs per name and status and lists the latest first", async () => {
    const a = (await jobs.enqueue("embed-taxa-text", embedPayload(1))).job;
    await jobs.enqueue("embed-taxa-text", embedPayload(2));
    const c = (await jobs.enqueue("import-text-embeddings", { npyPath: "/n", jsonPath: "/j", modelVersion: "m@1" })).job;
    await jobs.claim("w", NAMES, { onlyJobId: a.id });
    await jobs.complete(a.id, "w", {});
    expect(await jobs.countByStatus()).toEqual([
      { name: "embed-taxa-text", status: "queued", count: 1 },
      { name: "embed-taxa-text", status: "succeeded", count: 1 },
      { name: "import-text-embeddings", status: "queued", count: 1 },
    ]);
    expect((await jobs.getAll({ limit: 10 }))[0]!.id).toBe(c.id);
    expect((await jobs.getAll({ status: "succeeded", limit: 10 })).map((job) => job.id)).toEqual([a.id]);
    expect(await jobs.getAll({ name: "import-text-embeddings", status: "running", limit: 10 })).toEqual([]);
  });
});
