// The embed-taxa-text job against the REAL inference service (a child process on port 0 serving the
// committed stand-in package, NOT BioCLIP 2), with five species: labels, averaging, resumability,
// idempotency, and a worker killed mid-job whose job another worker takes back and finishes.
import { spawn } from "node:child_process";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Pool, Store } from "@arbor/store";
import { InferenceClient } from "@arbor/inference/client.ts";
import { OPENAI_IMAGENET_TEMPLATES } from "@arbor/inference/classify/zero-shot-labels.ts";
import { buildHandlerRegistry } from "../src/handler-registry.ts";
import { HANDLERS } from "../src/handlers/index.ts";
import { Worker, type WorkerOptions } from "../src/worker.ts";
import { startHoldingProxy } from "./support/holding-proxy.ts";
import { REPO_ROOT, startInferenceService, stopChild, type InferenceService } from "./support/inference-service.ts";
import {
  captureLogger,
  fixture,
  importLineageCsv,
  maxAbsDifference,
  norm,
  openTestDatabase,
  snapshot,
  textEmbeddingsByName,
  type LogLine,
  type TestDatabase,
} from "./support/helpers.ts";

let db: TestDatabase;
let pool: Pool;
let store: Store;
let service: InferenceService;
let client: InferenceClient;
let standInId: number;

// Each label as TreeOfLife-toolbox's make_txt_embedding.py writes it: the seven lineage entries
// joined by spaces (an absent rank leaves an empty entry), then " with common name X" when known.
const LABELS: Record<string, string> = {
  "Corvus corax": "Animalia Chordata Aves Passeriformes Corvidae Corvus corax with common name Common raven",
  "Corvus corone": "Animalia Chordata Aves Passeriformes Corvidae Corvus corone with common name Carrion crow",
  "Leopardus pardalis": "Animalia Chordata Mammalia Carnivora Felidae Leopardus pardalis with common name Ocelot",
  "Perca fluviatilis": "Animalia Chordata  Perciformes Percidae Perca fluviatilis",
  "Allium roseum": "Plantae Tracheophyta Liliopsida Asparagales Amaryllidaceae Allium roseum with common name Rosy garlic",
};

beforeAll(async () => {
  [db, service] = await Promise.all([openTestDatabase(), startInferenceService()]);
  pool = db.store.pool;
  store = db.store;
  client = new InferenceClient({ baseUrl: service.url });
  await importLineageCsv(pool, fixture("taxa/five-species.csv"));
  standInId = (await store.modelVersions.upsert({ name: "arbor-standin", version: "1", kind: "backbone", isStandIn: true, description: "stand-in, NOT BioCLIP 2" })).id;
}, 300_000);
afterAll(async () => {
  await Promise.all([db?.close(), service?.stop()]);
});
beforeEach(async () => {
  await pool.query(`DELETE FROM taxon_embedding; DELETE FROM job`);
});

const references = new Map<string, Float32Array>();

/**
 * The zero-shot class embedding computed here, independently of the job: each of the 80 templates
 * embedded directly through the client, L2-normalised, averaged in float64, renormalised.
 */
async function reference(label: string): Promise<Float32Array> {
  const cached = references.get(label);
  if (cached) return cached;
  expect(OPENAI_IMAGENET_TEMPLATES).toHaveLength(80);
  const { vectors } = await client.embedTexts(OPENAI_IMAGENET_TEMPLATES.map((template) => template.replace("{}", label)));
  const mean = new Float64Array(768);
  for (const vector of vectors) {
    const length = norm(vector);
    for (let k = 0; k < 768; k++) mean[k]! += vector[k]! / length / vectors.length;
  }
  const length = norm(mean);
  const result = Float32Array.from(mean, (value) => value / length);
  references.set(label, result);
  return result;
}

function makeWorker(overrides: Partial<WorkerOptions> = {}): { worker: Worker; lines: LogLine[] } {
  const { log, lines } = captureLogger("info");
  const worker = new Worker({
    jobs: store.jobs,
    handlers: buildHandlerRegistry(HANDLERS),
    // The worker's defaults: a batch of 2 taxa (160 texts) goes out as two requests in flight.
    dependencies: { store, inference: client, config: { inferenceMaxTextsPerRequest: 128, inferenceConcurrency: 2 } },
    workerId: "embed-test",
    log,
    pollIntervalMs: 50,
    heartbeatIntervalMs: 100,
    lockTimeoutMs: 60_000,
    retry: { baseDelayMs: 1_000, maxDelayMs: 1_000 },
    ...overrides,
  });
  return { worker, lines };
}

async function taxonId(name: string): Promise<number> {
  const { rows } = await pool.query<{ id: number }>(`SELECT id FROM taxon WHERE scientific_name = $1`, [name]);
  return rows[0]!.id;
}

async function expectMatchesReference(stored: Map<string, Float32Array>, labels: Record<string, string>): Promise<void> {
  expect([...stored.keys()].sort()).toEqual(Object.keys(labels).sort());
  for (const [name, label] of Object.entries(labels)) {
    const vector = stored.get(name)!;
    expect(norm(vector), name).toBeCloseTo(1, 5);
    expect(maxAbsDifference(vector, await reference(label)), name).toBeLessThan(1e-5);
  }
}

describe("embed-taxa-text", () => {
  it("stores, per species, the average of its normalised template embeddings (label with lineage and common name)", async () => {
    const { worker, lines } = makeWorker();
    const { job } = await store.jobs.enqueue("embed-taxa-text", { modelVersionId: standInId, batchSize: 2 });
    const processed = await worker.runOnce();
    // On failure, say why the attempt failed (the job's error and the worker's last log lines).
    const why = `job error: ${JSON.stringify(processed?.job?.error)}; worker log: ${JSON.stringify(lines.slice(-3))}`;
    expect(processed, why).toMatchObject({ jobId: job.id, outcome: "succeeded", job: { progress: { done: 5, total: 5 } } });
    expect(processed!.job!.result).toMatchObject({ modelVersion: "arbor-standin@1", isStandIn: true, rank: "species", embedded: 5, done: 5, total: 5 });

    const stored = await textEmbeddingsByName(pool, standInId);
    await expectMatchesReference(stored, LABELS);
    // The comparison can tell labels apart: other species, or the same lineage without its common name.
    expect(maxAbsDifference(stored.get("Corvus corax")!, stored.get("Corvus corone")!)).toBeGreaterThan(1e-3);
    const lineageOnly = await reference("Animalia Chordata Aves Passeriformes Corvidae Corvus corax");
    expect(maxAbsDifference(stored.get("Corvus corax")!, lineageOnly)).toBeGreaterThan(1e-3);

    // One progress line per batch of 2.
    expect(lines.filter((line) => line.msg === "progress").map((line) => [line.done, line.total])).toEqual([[2, 5], [4, 5], [5, 5]]);
    expect(lines.some((line) => line.level === 40 && /stand-in model, NOT BioCLIP 2/.test(line.msg))).toBe(true);
  }, 180_000);

  it("computes only what is missing: a second run is skipped and rewrites nothing", async () => {
    const { worker } = makeWorker();
    await store.jobs.enqueue("embed-taxa-text", { modelVersionId: standInId });
    expect(await worker.runOnce()).toMatchObject({ outcome: "succeeded" });
    const before = await snapshot(pool);

    // Remove one embedding: only that taxon is computed again.
    await pool.query(`DELETE FROM taxon_embedding WHERE taxon_id = $1`, [await taxonId("Leopardus pardalis")]);
    await store.jobs.enqueue("embed-taxa-text", { modelVersionId: standInId });
    expect(await worker.runOnce()).toMatchObject({ outcome: "succeeded", job: { result: { embedded: 1, total: 1 } } });
    const after = await snapshot(pool);
    expect(after.taxon_embedding!.count).toBe(5);

    await store.jobs.enqueue("embed-taxa-text", { modelVersionId: standInId });
    const again = await worker.runOnce();
    expect(again).toMatchObject({ outcome: "skipped", job: { status: "succeeded", result: { skipped: true, embedded: 0, total: 0 } } });
    expect(await snapshot(pool)).toEqual(after);
    expect(before.taxon.checksum).toBe(after.taxon.checksum);
  }, 180_000);

  it("limits the work to a subtree and to another rank", async () => {
    const { worker } = makeWorker();
    const corvus = (await pool.query<{ id: number }>(`SELECT id FROM taxon WHERE rank = 'genus' AND scientific_name = 'Corvus'`)).rows[0]!.id;
    await store.jobs.enqueue("embed-taxa-text", { modelVersionId: standInId, rootTaxonId: corvus });
    expect(await worker.runOnce()).toMatchObject({ outcome: "succeeded", job: { result: { embedded: 2, rootTaxonId: corvus } } });
    await store.jobs.enqueue("embed-taxa-text", { modelVersionId: standInId, rootTaxonId: corvus, rank: "genus" });
    expect(await worker.runOnce()).toMatchObject({ outcome: "succeeded", job: { result: { embedded: 1, rank: "genus" } } });
    await expectMatchesReference(await textEmbeddingsByName(pool, standInId), {
      "Corvus corax": LABELS["Corvus corax"]!,
      "Corvus corone": LABELS["Corvus corone"]!,
      // A genus: the species entry is empty, as in make_txt_embedding.py.
      Corvus: "Animalia Chordata Aves Passeriformes Corvidae Corvus ",
    });
  }, 180_000);

  it("fails for good when the service serves another model than the job's model version", async () => {
    const bioclip = await store.modelVersions.upsert({ name: "bioclip-2", version: "1", kind: "backbone", isStandIn: false });
    const { worker } = makeWorker();
    await store.jobs.enqueue("embed-taxa-text", { modelVersionId: bioclip.id });
    const processed = await worker.runOnce();
    expect(processed).toMatchObject({ outcome: "failed", job: { status: "failed", attempts: 1 } });
    expect(processed!.job!.error).toMatch(/serves arbor-standin@1 \(stand-in\), but the job's model version is bioclip-2@1/);
    expect((await snapshot(pool)).taxon_embedding!.count).toBe(0);

    await store.jobs.enqueue("embed-taxa-text", { modelVersionId: 999 });
    expect(await worker.runOnce()).toMatchObject({ outcome: "failed", job: { error: "PermanentJobError: model version 999 does not exist" } });
  }, 180_000);
});

describe("a worker killed mid-job", () => {
  it("loses nothing: another worker takes the job back after the lock times out and finishes only what is missing", async () => {
    const { job } = await store.jobs.enqueue("embed-taxa-text", { modelVersionId: standInId, batchSize: 2 });
    // The doomed worker gets its first batch embedded; its second request is held unanswered.
    const proxy = await startHoldingProxy(service.url, 1);
    const output: string[] = [];
    const doomed = spawn(process.execPath, ["--import", "tsx", "services/training/src/main.ts"], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        DATABASE_URL: db.url,
        INFERENCE_URL: proxy.url,
        WORKER_ID: "doomed-worker",
        JOB_POLL_INTERVAL_MS: "50",
        JOB_HEARTBEAT_INTERVAL_MS: "100",
        JOB_LOCK_TIMEOUT_MS: "300",
        // One request per batch of 2 taxa (160 texts), so "the second request" means "the second batch".
        INFERENCE_MAX_TEXTS_PER_REQUEST: "256",
        INFERENCE_CONCURRENCY: "1",
        LOG_LEVEL: "info",
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
    doomed.stderr!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    try {
      await proxy.waitForRequests(2);
      // The second request is only sent once the first batch is stored and its progress saved.
      const running = (await store.jobs.getById(job.id))!;
      expect(running, output.join("")).toMatchObject({ status: "running", lockedBy: "doomed-worker", attempts: 1, progress: { done: 2, total: 5 } });
      await stopChild(doomed, "SIGKILL");
    } finally {
      await stopChild(doomed, "SIGKILL");
      await proxy.close();
    }
    const { rows: survivors } = await pool.query<{ taxonId: number; createdAt: Date }>(
      `SELECT taxon_id AS "taxonId", created_at AS "createdAt" FROM taxon_embedding ORDER BY taxon_id`,
    );
    expect(survivors).toHaveLength(2);

    const { worker, lines } = makeWorker({ workerId: "rescuer", lockTimeoutMs: 500 });
    let processed = await worker.runOnce();
    while (processed === null) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      processed = await worker.runOnce();
    }
    expect(processed).toMatchObject({ jobId: job.id, outcome: "succeeded", job: { attempts: 2, lockedBy: "rescuer", progress: { done: 5, total: 5 } } });
    expect(processed.job!.result).toMatchObject({ embedded: 3, done: 5, total: 5 });
    expect(lines.find((line) => line.msg.startsWith("reclaimed"))).toMatchObject({ jobId: job.id, status: "queued", attempts: 1 });
    expect(lines.find((line) => line.msg === "embedding taxon labels")).toMatchObject({ remaining: 3, resumedAt: 2 });

    await expectMatchesReference(await textEmbeddingsByName(pool, standInId), LABELS);
    // The rows the killed worker stored were kept, not computed again.
    const { rows: kept } = await pool.query<{ taxonId: number; createdAt: Date }>(
      `SELECT taxon_id AS "taxonId", created_at AS "createdAt" FROM taxon_embedding WHERE taxon_id = ANY($1::int[]) ORDER BY taxon_id`,
      [survivors.map((row) => row.taxonId)],
    );
    expect(kept).toEqual(survivors);
  }, 240_000);
});
