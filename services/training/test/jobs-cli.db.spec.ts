// `npm run jobs -- …` (services/training/src/cli/jobs.ts) as a child process against the test database.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Pool, Store } from "@arbor/store";
import { REPO_ROOT } from "./support/inference-service.ts";
import { openTestDatabase, resetStore, textEmbeddingsByName, type TestDatabase } from "./support/helpers.ts";

let db: TestDatabase;
let pool: Pool;
let store: Store;

beforeAll(async () => {
  db = await openTestDatabase();
  pool = db.store.pool;
  store = db.store;
  await resetStore(pool);
});
afterAll(async () => {
  await db?.close();
});

const FIXTURE_DIR = "services/training/test/fixtures/official-text-embeddings";

async function jobsCli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ["--import", "tsx", "services/training/src/cli/jobs.ts", ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, DATABASE_URL: db.url, LOG_LEVEL: "warn" },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const importArgs = ["--npy", `${FIXTURE_DIR}/txt_emb_species.npy`, "--json", `${FIXTURE_DIR}/txt_emb_species.json`, "--model", "bioclip-2@1"];

describe("npm run jobs", () => {
  it("enqueues once per idempotency key, with absolute paths in the payload", async () => {
    const first = await jobsCli("enqueue", "import-text-embeddings", ...importArgs, "--idempotency-key", "official-v1");
    expect(first.code, first.stderr).toBe(0);
    const [, id] = /^enqueued: (\S+) import-text-embeddings queued$/m.exec(first.stdout) ?? [];
    expect(id).toBeDefined();
    const again = await jobsCli("enqueue", "import-text-embeddings", ...importArgs, "--idempotency-key", "official-v1");
    expect(again.stdout).toContain(`already enqueued (same idempotency key): ${id}`);
    expect((await store.jobs.getById(id!))?.payload).toEqual({
      npyPath: join(REPO_ROOT, FIXTURE_DIR, "txt_emb_species.npy"),
      jsonPath: join(REPO_ROOT, FIXTURE_DIR, "txt_emb_species.json"),
      modelVersion: "bioclip-2@1",
    });

    const status = await jobsCli("status");
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^import-text-embeddings\s+1\s+0\s+0\s+0\s+0$/m);
    expect(status.stdout).toMatch(new RegExp(`^${id}\\s+import-text-embeddings\\s+queued\\s+0/3`, "m"));

    const cancelled = await jobsCli("cancel", id!);
    expect(cancelled.stdout).toContain(`cancelled: ${id} import-text-embeddings`);
    expect((await jobsCli("cancel", id!)).stdout).toContain("is already cancelled");
    const one = JSON.parse((await jobsCli("status", id!)).stdout) as { status: string };
    expect(one.status).toBe("cancelled");
  }, 180_000);

  it("runs a job in the foreground and prints its result", async () => {
    const run = await jobsCli("run", "import-text-embeddings", ...importArgs, "--batch-size", "4");
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/: succeeded\n/);
    expect(run.stdout).toContain('"speciesRows": 11');
    const model = (await store.modelVersions.getAll()).find((row) => row.name === "bioclip-2")!;
    expect((await textEmbeddingsByName(pool, model.id)).size).toBe(11);

    const json = JSON.parse((await jobsCli("status", "--status", "succeeded", "--format", "json")).stdout) as { jobs: Array<{ name: string; progress: unknown }> };
    expect(json.jobs).toHaveLength(1);
    expect(json.jobs[0]).toMatchObject({ name: "import-text-embeddings", progress: { done: 13, total: 13 } });
  }, 180_000);

  it("resolves --model for embed-taxa-text and refuses bad usage with exit code 2", async () => {
    const enqueued = await jobsCli("enqueue", "embed-taxa-text", "--model", "bioclip-2@1", "--batch-size", "8");
    expect(enqueued.code, enqueued.stderr).toBe(0);
    const model = (await store.modelVersions.getAll()).find((row) => row.name === "bioclip-2")!;
    const queued = await store.jobs.getAll({ name: "embed-taxa-text", limit: 1 });
    expect(queued[0]!.payload).toEqual({ modelVersionId: model.id, batchSize: 8 });

    const missing = await jobsCli("enqueue", "embed-taxa-text");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('"modelVersionId" is required');
    const unknown = await jobsCli("enqueue", "retrain");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("enqueue needs a job name: embed-taxa-text, import-text-embeddings");
  }, 180_000);
});
