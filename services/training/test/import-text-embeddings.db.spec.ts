// Import of the official BioCLIP 2 species text embeddings, on files of the official format written
// by numpy (fixtures/make_official_text_embeddings.py): 13 labels, 5 zero-padded tail columns, one
// row without an epithet, one labelled all-zero column, one vector of norm 1.5.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ImportAbortedError, type Pool, type Store } from "@arbor/store";
import { InferenceClient } from "@arbor/inference/client.ts";
import { ClassifyError } from "@arbor/inference/classify/errors.ts";
import { buildHandlerRegistry } from "../src/handler-registry.ts";
import { HANDLERS } from "../src/handlers/index.ts";
import { importTextEmbeddings } from "../src/services/import-text-embeddings.service.ts";
import { Worker } from "../src/worker.ts";
import { readNpyMatrix } from "./support/npy.ts";
import {
  captureLogger,
  fixture,
  importLineageCsv,
  norm,
  openTestDatabase,
  resetStore,
  silentLog,
  snapshot,
  textEmbeddingsByName,
  treePaths,
  type TestDatabase,
} from "./support/helpers.ts";

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
  await resetStore(pool);
});

const files = (name = "official-text-embeddings") => ({
  npyPath: fixture(`${name}/txt_emb_species.npy`),
  jsonPath: fixture(`${name}/txt_emb_species.json`),
});
const options = (overrides: Partial<Parameters<typeof importTextEmbeddings>[0]> = {}) => ({ pool, log: silentLog, model: "bioclip-2@1", ...files(), ...overrides });

/** The species of the fixture that get an embedding: file column by scientific name. */
const IMPORTED_COLUMNS: Record<string, number> = {
  "Corvus corax": 0,
  "Corvus corone": 1,
  "Pica pica": 2,
  "Leopardus pardalis": 4,
  "Perca fluviatilis": 5,
  "Allium roseum": 6,
  "Amanita muscaria": 8,
  "Corvus frugilegus": 9,
  "Danaus plexippus": 10,
  "Morus bassanus": 11,
  "Morus alba": 12,
};

async function modelVersionId(): Promise<number> {
  const { rows } = await pool.query<{ id: number }>(`SELECT id FROM model_version WHERE name = 'bioclip-2' AND version = '1'`);
  return rows[0]!.id;
}

async function tableCounts(): Promise<Record<string, number>> {
  const state = await snapshot(pool);
  return Object.fromEntries(Object.entries(state).map(([table, { count }]) => [table, count]));
}

describe("import-text-embeddings", () => {
  it("stores each species' vector exactly as in the file, creating its lineage taxa and the model version", async () => {
    const { log, lines } = captureLogger("info");
    const outcome = await importTextEmbeddings(options({ log }));
    expect(outcome.alreadyDone).toBe(false);
    expect(outcome.rows).toBe(13);
    expect(outcome.stats).toMatchObject({
      speciesRows: 11,
      embeddingsWritten: 11,
      embeddingsUnchanged: 0,
      skippedNoEpithet: 1,
      skippedEmptyColumn: 1,
      nonUnitNorm: 1,
      duplicateSpecies: 0,
      paddingColumnsDropped: 5,
    });

    const id = await modelVersionId();
    const stored = await textEmbeddingsByName(pool, id);
    const npy = readNpyMatrix(files().npyPath);
    expect([npy.rows, npy.columns]).toEqual([768, 18]);
    expect([...stored.keys()].sort()).toEqual(Object.keys(IMPORTED_COLUMNS).sort());
    for (const [name, column] of Object.entries(IMPORTED_COLUMNS)) expect(stored.get(name), name).toEqual(npy.column(column));
    // Stored as given: the one non-unit vector keeps its norm.
    expect(norm(stored.get("Amanita muscaria")!)).toBeCloseTo(1.5, 5);
    expect(norm(stored.get("Corvus corax")!)).toBeCloseTo(1, 5);
    const warning = lines.find((line) => line.msg.startsWith("text embedding is not unit length"));
    expect(warning).toMatchObject({ level: 40, row: 9 });
    expect(warning!.norm as number).toBeCloseTo(1.5, 5);

    const { rows: models } = await pool.query(`SELECT name, version, kind, status, is_stand_in, dimension FROM model_version`);
    expect(models).toEqual([{ name: "bioclip-2", version: "1", kind: "backbone", status: "active", is_stand_in: false, dimension: 768 }]);
    const { rows: kinds } = await pool.query(`SELECT DISTINCT kind::text, image_count FROM taxon_embedding`);
    expect(kinds).toEqual([{ kind: "text", image_count: 0 }]);
  });

  it("builds the lineages: skipped rows create no taxa, empty ranks are skipped, homonym genera stay apart", async () => {
    await importTextEmbeddings(options());
    const paths = await treePaths(pool);
    expect(paths).toContain("kingdom:Animalia > phylum:Chordata > order:Perciformes > family:Percidae > genus:Perca > species:Perca fluviatilis");
    expect(paths).toContain("kingdom:Plantae > phylum:Tracheophyta > class:Magnoliopsida > order:Rosales > family:Moraceae > genus:Morus > species:Morus alba");
    expect(paths).toContain("kingdom:Animalia > phylum:Chordata > class:Aves > order:Suliformes > family:Sulidae > genus:Morus > species:Morus bassanus");
    // The row without an epithet and the all-zero column (Panthera leo) are skipped whole.
    expect(paths.filter((path) => /Garrulus|Panthera/.test(path))).toEqual([]);
    expect(paths.filter((path) => path.includes("> species:"))).toHaveLength(11);
    const { rows } = await pool.query(`SELECT scientific_name, common_name FROM taxon WHERE rank = 'species' AND scientific_name IN ('Corvus corax', 'Allium roseum') ORDER BY 1`);
    expect(rows).toEqual([
      { scientific_name: "Allium roseum", common_name: null },
      { scientific_name: "Corvus corax", common_name: "Common raven" },
    ]);
    const { rows: invariants } = await pool.query<{ bad: number }>(
      `SELECT count(*)::int AS bad FROM taxon t LEFT JOIN taxon p ON p.id = t.parent_id
        WHERE t.ancestor_ids IS DISTINCT FROM (CASE WHEN p.id IS NULL THEN ARRAY[]::int[] ELSE p.ancestor_ids || p.id END)
           OR t.child_count <> (SELECT count(*) FROM taxon c WHERE c.parent_id = t.id)`,
    );
    expect(invariants[0]!.bad).toBe(0);
  });

  it("merges with taxa that already exist instead of duplicating them", async () => {
    await importLineageCsv(pool, fixture("taxa/five-species.csv"));
    const { rows: before } = await pool.query<{ id: number }>(`SELECT id FROM taxon WHERE scientific_name = 'Corvus corax'`);
    await importTextEmbeddings(options());
    const { rows: after } = await pool.query<{ id: number }>(`SELECT id FROM taxon WHERE scientific_name = 'Corvus corax'`);
    expect(after).toEqual(before);
    expect((await textEmbeddingsByName(pool, await modelVersionId())).size).toBe(11);
  });

  it("resumes after a crash between batches and ends where an uninterrupted import ends", async () => {
    await importTextEmbeddings(options({ batchSize: 3 }));
    const clean = { paths: await treePaths(pool), embeddings: await textEmbeddingsByName(pool, await modelVersionId()), counts: await tableCounts() };
    await resetStore(pool);

    const crash = importTextEmbeddings(
      options({
        batchSize: 3,
        afterBatch: (batchNo) => {
          if (batchNo === 2) throw new Error("simulated crash after batch 2");
        },
      }),
    );
    await expect(crash).rejects.toThrow("simulated crash after batch 2");
    const { rows: checkpoint } = await pool.query(`SELECT rows_done, completed FROM import_checkpoint`);
    expect(checkpoint).toEqual([{ rows_done: 6, completed: false }]);
    // Columns 0–5 hold five species (column 3 has no epithet).
    expect((await textEmbeddingsByName(pool, await modelVersionId())).size).toBe(5);

    const resumed = await importTextEmbeddings(options({ batchSize: 3 }));
    expect(resumed.resumedFrom).toBe(6);
    expect(resumed.stats).toMatchObject({ speciesRows: 11, embeddingsWritten: 11, skippedNoEpithet: 1, skippedEmptyColumn: 1 });
    expect(await treePaths(pool)).toEqual(clean.paths);
    expect(await textEmbeddingsByName(pool, await modelVersionId())).toEqual(clean.embeddings);
    expect(await tableCounts()).toEqual(clean.counts);
  });

  it("is idempotent: a finished file is skipped, and a forced re-run changes nothing", async () => {
    await importTextEmbeddings(options());
    const before = await snapshot(pool);
    expect((await importTextEmbeddings(options())).alreadyDone).toBe(true);
    const forced = await importTextEmbeddings(options({ force: true }));
    expect(forced.stats).toMatchObject({ speciesRows: 11, embeddingsWritten: 0, embeddingsUnchanged: 11, taxaInserted: 0 });
    expect(await snapshot(pool)).toEqual(before);
  });

  it("refuses a file with a NaN before writing anything", async () => {
    const attempt = importTextEmbeddings(options(files("official-text-embeddings-nan")));
    await expect(attempt).rejects.toThrow(ClassifyError);
    await expect(attempt).rejects.toMatchObject({ code: "NON_FINITE" });
    expect(await tableCounts()).toEqual({ taxon: 0, taxon_name: 0, taxon_external_id: 0, taxon_embedding: 0, model_version: 0 });
  });

  it("reports a bad lineage row: aborts with nothing written, or skips it within --max-errors", async () => {
    const bad = files("official-text-embeddings-bad-row");
    await expect(importTextEmbeddings(options(bad))).rejects.toThrow(ImportAbortedError);
    expect((await tableCounts()).taxon).toBe(0);
    const outcome = await importTextEmbeddings(options({ ...bad, maxErrors: 1 }));
    expect(outcome.badRows.map((error) => error.toJSON())).toEqual([
      { file: "txt_emb_species.json", line: 5, field: "order", message: '"Carnivora Felidae" is not a single order name' },
    ]);
    expect(outcome.stats).toMatchObject({ speciesRows: 10, embeddingsWritten: 10 });
    expect((await textEmbeddingsByName(pool, await modelVersionId())).has("Leopardus pardalis")).toBe(false);
  });

  it("runs as a job: progress on the job row, counts in its result", async () => {
    const { log } = captureLogger("warn");
    const worker = new Worker({
      jobs: store.jobs,
      handlers: buildHandlerRegistry(HANDLERS),
      dependencies: { store, inference: new InferenceClient({ baseUrl: "http://127.0.0.1:9" }), config: { inferenceMaxTextsPerRequest: 256, inferenceConcurrency: 1 } },
      workerId: "import-test",
      log,
      pollIntervalMs: 20,
      heartbeatIntervalMs: 1_000,
      lockTimeoutMs: 60_000,
      retry: { baseDelayMs: 1_000, maxDelayMs: 1_000 },
    });
    const { job } = await store.jobs.enqueue("import-text-embeddings", { ...files(), modelVersion: "bioclip-2@1", batchSize: 5 });
    const processed = await worker.runOnce();
    expect(processed).toMatchObject({ jobId: job.id, outcome: "succeeded" });
    const row = processed!.job!;
    expect(row.progress).toEqual({ step: "text-embeddings-official:bioclip-2@1", done: 13, total: 13 });
    expect(row.result).toMatchObject({ rows: 13, resumedFrom: 0, badRows: [], stats: { speciesRows: 11, embeddingsWritten: 11, skippedNoEpithet: 1, skippedEmptyColumn: 1, nonUnitNorm: 1, paddingColumnsDropped: 5 } });

    const again = await store.jobs.enqueue("import-text-embeddings", { ...files(), modelVersion: "bioclip-2@1" });
    expect(await worker.runOnce()).toMatchObject({ jobId: again.job.id, outcome: "skipped" });

    const missing = await store.jobs.enqueue("import-text-embeddings", { npyPath: "/nonexistent.npy", jsonPath: "/nonexistent.json", modelVersion: "bioclip-2@1" });
    expect(await worker.runOnce()).toMatchObject({ jobId: missing.job.id, outcome: "failed", job: { attempts: 1 } });
  });
});
