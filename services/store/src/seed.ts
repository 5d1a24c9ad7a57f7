import { createHash } from "node:crypto";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { withTransaction, type Pool } from "./db.ts";
import { importEmbeddings } from "./importers/embeddings.importer.ts";
import type { ImportOutcome, ImportRunOptions } from "./importers/import-runner.ts";
import { createProgressReporter, type ProgressEvent } from "./importers/progress.ts";
import { importTaxa } from "./importers/taxa.importer.ts";
import { importTraits } from "./importers/traits.importer.ts";
import type { Logger } from "./logger.ts";
import { ImportRepository } from "./repositories/import.repository.ts";

/** data/seed/ of the repository: copies of the real data files (provenance in data/README.md). */
export const SEED_DATA_DIR = fileURLToPath(new URL("../../../data/seed", import.meta.url));

export interface SeedOptions {
  /** Folder holding the seed files; default data/seed. */
  dataDir?: string;
  log: Logger;
  onProgress?: (event: ProgressEvent) => void;
}

export interface SeedResult {
  /** The seed had completed before: nothing was read. */
  skipped: boolean;
  seconds: number;
  steps: Array<{ step: string; seconds: number; alreadyDone: boolean; stats: Record<string, number> }>;
}

type StepRunner = (path: string, options: ImportRunOptions) => Promise<ImportOutcome>;

/**
 * One merged tree from four sources, then images, embeddings and traits on it. Order matters:
 * the taxonomies first (Seek's parent/child tree, then MDD and the rare species merged into it),
 * then the BioCLIP 2 images whose lineages attach to those taxa, then traits matched by name.
 */
const SEED_STEPS: Array<{ step: string; file: string; run: StepRunner }> = [
  { step: "iNaturalist Seek 2019 taxonomy", file: "inat_seek2019_taxonomy.csv", run: (path, o) => importTaxa("taxa-parent-child", path, { ...o, allowUnnamed: true, source: "inaturalist" }) },
  { step: "MDD v1.13 mammals", file: "mdd_v1.13_mammals_core.csv", run: (path, o) => importTaxa("taxa-lineage", path, { ...o, source: "mdd", idColumn: "id" }) },
  { step: "BioCLIP Rare Species", file: "bioclip_rare_species_400.csv", run: (path, o) => importTaxa("taxa-lineage", path, { ...o, source: "bioclip-rare-species" }) },
  { step: "BioCLIP 2 image embeddings", file: "example_1k.parquet", run: (path, o) => importEmbeddings("embeddings-parquet", path, { ...o, model: "bioclip-2@1", source: "treeoflife-200m" }) },
  { step: "AVONET traits", file: "avonet_dataset1_birdlife.csv", run: (path, o) => importTraits("traits-avonet", path, o) },
  { step: "PanTHERIA traits", file: "pantheria_1-0_wr05_aug2008.tsv", run: (path, o) => importTraits("traits-pantheria", path, o) },
  { step: "AnAge traits", file: "anage_build.tsv", run: (path, o) => importTraits("traits-anage", path, o) },
];

const SEED_KIND = "seed-demo";

/**
 * Seeds the demo database (used by `npm start` on first start). Idempotent: each step is an import
 * with its own checkpoint, and once all have completed a marker row makes later calls return
 * after one query. An interrupted seed resumes where it stopped.
 */
export async function seedDemo(pool: Pool, options: SeedOptions): Promise<SeedResult> {
  const started = Date.now();
  const dataDir = options.dataDir ?? SEED_DATA_DIR;
  const marker = await seedMarker(dataDir);
  const repository = new ImportRepository(pool);
  if ((await repository.getCheckpoint(SEED_KIND, marker))?.completed) {
    options.log.debug("demo data already seeded");
    return { skipped: true, seconds: (Date.now() - started) / 1000, steps: [] };
  }
  options.log.info({ dataDir }, "seeding the demo database (first start)");
  const progress = createProgressReporter({ log: options.log, bar: false, logEvery: 10_000, onProgress: options.onProgress });
  const steps: SeedResult["steps"] = [];
  for (const { step, file, run } of SEED_STEPS) {
    const outcome = await run(join(dataDir, file), { pool, log: options.log, progress });
    steps.push({ step, seconds: outcome.seconds, alreadyDone: outcome.alreadyDone, stats: outcome.stats });
    options.log.info({ step, seconds: outcome.seconds, stats: outcome.stats }, "seed step done");
  }
  await withTransaction(pool, (client) =>
    repository.saveCheckpoint(client, { kind: SEED_KIND, fileSha256: marker, fileName: "data/seed", rowsDone: SEED_STEPS.length, completed: true, stats: {} }),
  );
  const seconds = (Date.now() - started) / 1000;
  options.log.info({ seconds }, "demo database seeded");
  return { skipped: false, seconds, steps };
}

/** Identifies the seed's steps and files (by name and size: no file is read). */
async function seedMarker(dataDir: string): Promise<string> {
  const hash = createHash("sha256").update("seed v1\n");
  for (const { step, file } of SEED_STEPS) {
    const info = await stat(join(dataDir, file));
    hash.update(`${step}\t${file}\t${info.size}\n`);
  }
  return hash.digest("hex");
}
