// The worker loop (claim → handler → record outcome) with handlers written for the test, on PGlite
// and, with TEST_DATABASE_URL, on a real PostgreSQL.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type JobName, type Pool, type Store } from "@arbor/store";
import { InferenceClient } from "@arbor/inference/client.ts";
import { PermanentJobError } from "../src/errors.ts";
import { buildHandlerRegistry } from "../src/handler-registry.ts";
import type { AnyJobHandler, HandlerContext, JobOutcome } from "../src/job-handler.ts";
import { Worker, type WorkerOptions } from "../src/worker.ts";
import { captureLogger, openTestDatabase, type LogLine, type TestDatabase } from "./support/helpers.ts";

let db: TestDatabase;
let pool: Pool;
let store: Store;

beforeAll(async () => {
  db = await openTestDatabase();
  pool = db.store.pool;
  store = db.store;
});
afterAll(async () => {
  await db?.close();
});
beforeEach(async () => {
  await pool.query(`DELETE FROM job`);
});

type Run = (payload: Record<string, unknown>, context: HandlerContext) => Promise<JobOutcome>;

/** Test handlers under the real job names; the one not under test refuses to run. */
function handlers(embed: Run, importer: Run = async () => ({ status: "failed", error: "not used", retryable: false })): AnyJobHandler[] {
  return [
    { name: "embed-taxa-text", run: embed } as unknown as AnyJobHandler,
    { name: "import-text-embeddings", run: importer } as unknown as AnyJobHandler,
  ];
}

function makeWorker(embed: Run, overrides: Partial<WorkerOptions> = {}): { worker: Worker; lines: LogLine[] } {
  const { log, lines } = captureLogger("debug");
  const worker = new Worker({
    jobs: store.jobs,
    handlers: buildHandlerRegistry(handlers(embed)),
    // Never called by these handlers: the address is unroutable on purpose.
    dependencies: { store, inference: new InferenceClient({ baseUrl: "http://127.0.0.1:9" }), config: { inferenceMaxTextsPerRequest: 256, inferenceConcurrency: 1 } },
    workerId: "test-worker",
    log,
    pollIntervalMs: 20,
    heartbeatIntervalMs: 20,
    lockTimeoutMs: 60_000,
    retry: { baseDelayMs: 60_000, maxDelayMs: 600_000 },
    ...overrides,
  });
  return { worker, lines };
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Waits for the job's abort signal and rethrows its reason, as a handler does at a checkpoint. */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}

const enqueueEmbed = async (modelVersionId = 7) => (await store.jobs.enqueue("embed-taxa-text", { modelVersionId, requestId: "req-42" })).job;

describe("Worker", () => {
  it("runs the handler with the typed payload and records its result and progress", async () => {
    const job = await enqueueEmbed();
    const seen: Array<{ payload: unknown; attempt: number; previous: unknown }> = [];
    const { worker, lines } = makeWorker(async (payload, context) => {
      seen.push({ payload, attempt: context.attempt, previous: context.previousProgress });
      await context.saveProgress({ done: 1, total: 2 });
      return { status: "succeeded", result: { echo: payload.modelVersionId } };
    });
    const processed = await worker.runOnce();
    expect(processed).toMatchObject({ jobId: job.id, outcome: "succeeded", job: { status: "succeeded", result: { echo: 7 }, progress: { done: 1, total: 2 } } });
    expect(seen).toEqual([{ payload: { modelVersionId: 7, requestId: "req-42" }, attempt: 1, previous: {} }]);
    const jobLines = lines.filter((line) => line.jobId === job.id);
    expect(jobLines.map((line) => line.msg)).toEqual(["job started", "job succeeded"]);
    expect(jobLines.every((line) => line.requestId === "req-42" && line.job === "embed-taxa-text")).toBe(true);
    expect(await worker.runOnce()).toBeNull();
  });

  it("records a skipped job as succeeded, saying why", async () => {
    const job = await enqueueEmbed();
    const { worker } = makeWorker(async () => ({ status: "skipped", reason: "nothing to do", result: { embedded: 0 } }));
    expect(await worker.runOnce()).toMatchObject({ outcome: "skipped" });
    expect(await store.jobs.getById(job.id)).toMatchObject({ status: "succeeded", result: { skipped: true, reason: "nothing to do", embedded: 0 } });
  });

  it("retries a thrown error after the back-off, resuming from the saved progress", async () => {
    const job = await enqueueEmbed();
    const previous: unknown[] = [];
    const { worker, lines } = makeWorker(async (_payload, context) => {
      previous.push(context.previousProgress);
      if (context.attempt === 1) {
        await context.saveProgress({ done: 3 });
        throw new Error("inference unreachable");
      }
      return { status: "succeeded", result: { resumedAt: context.previousProgress.done } };
    });
    const first = await worker.runOnce();
    expect(first).toMatchObject({ outcome: "retrying", job: { status: "queued", attempts: 1, error: "Error: inference unreachable" } });
    const { rows } = await pool.query<{ seconds: number }>(`SELECT extract(epoch FROM run_after - now())::float8 AS seconds FROM job`);
    expect(rows[0]!.seconds).toBeGreaterThan(30);
    expect(lines.some((line) => line.msg === "job will be retried" && line.jobId === job.id)).toBe(true);
    expect(await worker.runOnce()).toBeNull();

    await pool.query(`UPDATE job SET run_after = now()`);
    expect(await worker.runOnce()).toMatchObject({ outcome: "succeeded", job: { attempts: 2, result: { resumedAt: 3 } } });
    expect(previous).toEqual([{}, { done: 3 }]);
  });

  it("fails a permanent error at once, and an invalid payload without running the handler", async () => {
    const job = await enqueueEmbed();
    let runs = 0;
    const { worker } = makeWorker(async () => {
      runs++;
      throw new PermanentJobError("model version 7 does not exist");
    });
    expect(await worker.runOnce()).toMatchObject({ outcome: "failed", job: { status: "failed", attempts: 1, error: "PermanentJobError: model version 7 does not exist" } });
    expect((await store.jobs.getById(job.id))!.finishedAt).toBeInstanceOf(Date);

    const { rows } = await pool.query<{ id: string }>(`INSERT INTO job (name, payload) VALUES ('embed-taxa-text', '{"modelVersionId": "seven"}') RETURNING id`);
    const bad = await worker.runOnce();
    expect(bad).toMatchObject({ jobId: rows[0]!.id, outcome: "failed", job: { status: "failed", attempts: 1 } });
    expect(bad!.job!.error).toMatch(/invalid payload for job "embed-taxa-text": "modelVersionId" must be a positive integer/);
    expect(runs).toBe(1);
  });

  it("stops a running job that is cancelled and drops its outcome", async () => {
    const job = await enqueueEmbed();
    const started = deferred();
    const { worker, lines } = makeWorker(async (_payload, context) => {
      started.resolve();
      return untilAborted(context.signal);
    });
    const run = worker.runOnce();
    await started.promise;
    await store.jobs.cancel(job.id);
    expect(await run).toMatchObject({ outcome: "lost", job: null });
    expect(await store.jobs.getById(job.id)).toMatchObject({ status: "cancelled", result: null });
    expect(lines.some((line) => line.msg.startsWith("job is no longer ours") && line.status === "cancelled")).toBe(true);
  });

  it("puts the running job back in the queue when the worker stops, without counting the attempt", async () => {
    const job = await enqueueEmbed();
    const started = deferred();
    const { worker } = makeWorker(async (_payload, context) => {
      started.resolve();
      return untilAborted(context.signal);
    });
    const run = worker.runOnce();
    await started.promise;
    worker.stop();
    expect(await run).toMatchObject({ outcome: "released", job: { status: "queued", attempts: 0, lockedBy: null } });
    expect((await store.jobs.getById(job.id))?.status).toBe("queued");
  });

  it("takes back a job whose worker died and runs it again", async () => {
    const job = await enqueueEmbed();
    await store.jobs.claim("dead-worker", ["embed-taxa-text"]);
    await store.jobs.heartbeat(job.id, "dead-worker", { done: 4 });
    const { worker, lines } = makeWorker(async (_payload, context) => ({ status: "succeeded", result: { attempt: context.attempt, resumedAt: context.previousProgress.done } }), {
      lockTimeoutMs: 300,
    });
    // Still fresh: nothing to take.
    expect(await worker.runOnce()).toBeNull();
    await pool.query(`UPDATE job SET locked_at = now() - interval '1 second'`);
    expect(await worker.runOnce()).toMatchObject({ jobId: job.id, outcome: "succeeded", job: { attempts: 2, lockedBy: "test-worker", result: { attempt: 2, resumedAt: 4 } } });
    expect(lines.find((line) => line.msg.startsWith("reclaimed"))).toMatchObject({ jobId: job.id, status: "queued" });
  });

  it("polls until stopped, running jobs as they arrive", async () => {
    const done: number[] = [];
    const { worker } = makeWorker(async (payload) => {
      done.push(payload.modelVersionId as number);
      return { status: "succeeded", result: {} };
    });
    const loop = worker.run();
    await enqueueEmbed(1);
    await enqueueEmbed(2);
    while (done.length < 2) await new Promise((resolve) => setTimeout(resolve, 20));
    worker.stop();
    await loop;
    expect(done.sort()).toEqual([1, 2]);
    expect((await store.jobs.countByStatus()).map((row) => [row.status, row.count])).toEqual([["succeeded", 2]]);
  });
});

describe("only the names it was given", () => {
  it("leaves other jobs in the queue", async () => {
    await store.jobs.enqueue("import-text-embeddings", { npyPath: "/n", jsonPath: "/j", modelVersion: "m@1" });
    const { worker } = makeWorker(async () => ({ status: "succeeded", result: {} }), { jobNames: ["embed-taxa-text"] as JobName[] });
    expect(await worker.runOnce()).toBeNull();
  });
});
