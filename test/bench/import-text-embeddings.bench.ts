/**
 * import-text-embeddings: the import of the official BioCLIP 2 species text embeddings
 * (importTextEmbeddings, services/training/src/services/import-text-embeddings.service.ts, run by
 * the `import-text-embeddings` job) at TreeOfLife scale on the real PostgreSQL server: a synthetic
 * pair of official-format files (txt_emb_species.npy float32 [768, N + padding], C order;
 * txt_emb_species.json), imported into a fresh database (time, species/s, peak RSS, rows checked),
 * imported again (must be skipped), imported into another fresh database and killed part-way, then
 * resumed; plain COPY of the same rows into an unindexed table as the ceiling.
 *   npm run bench -- import-text-embeddings [--quick] [--species 100k]
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { createPool, type Pool } from "@arbor/store/db.ts";
import { migrate } from "@arbor/store/migrate.ts";
import { BenchUsageError, formatCount } from "./lib/args.ts";
import type { Benchmark, BenchContext, BenchReport } from "./lib/benchmark.ts";
import { loadAverage, postgresInfo } from "./lib/machine.ts";
import { databaseUrl, recreateDatabase, serverUrl } from "./lib/postgres.ts";
import { RESULTS_DIR } from "./lib/results.ts";
import { waitForIdle } from "./import-taxa/database-state.ts";
import { COPY_ANCHORS, copyIntoTable, DEFAULT_COPY_ANCHORS, speciesTaxonIds, type CopyAnchor } from "./import-text-embeddings/copy-anchor.ts";
import { checkpointState, findModelVersionId, importedState, schemaFacts, writtenTuples, type ImportedState } from "./import-text-embeddings/database-state.ts";
import type { ImportRunRequest } from "./import-text-embeddings/import-process.ts";
import { runImport } from "./import-text-embeddings/import-runner.ts";
import { officialFilesDir, readMatchingManifest, writeOfficialFiles, type OfficialFilesManifest } from "./import-text-embeddings/official-files.ts";
import { buildReport, type Measured, type MeasuredImport } from "./import-text-embeddings/report.ts";

const NAME = "import-text-embeddings";
const DATABASE_PREFIX = "arbor_bench_text_emb_";
/** The killed backend may be inside a batch's HNSW insertions when its client dies. */
const KILLED_BACKEND_WAIT_MS = 600_000;

interface Options {
  species: number;
  paddingColumns: number;
  seed: number;
  batchSize?: number;
  model: string;
  /** Share of the rows after which the resume run's process is killed; undefined = no resume run. */
  resumeAt?: number;
  copyAnchors: CopyAnchor[];
  sample: number;
  dataDir: string;
  keepDatabases: boolean;
}

function readOptions({ args, quick }: BenchContext): Options {
  const batchSize = args.count("batch-size", 0);
  const resumeAt = Number(args.string("resume-at", "0.4"));
  if (!(resumeAt > 0 && resumeAt < 1)) throw new BenchUsageError(`--resume-at must be a share of the rows in (0, 1); got ${resumeAt}`);
  const copyAnchors = args.string("copy", DEFAULT_COPY_ANCHORS.join(",")).split(",").map((name) => name.trim()).filter(Boolean);
  for (const name of copyAnchors) {
    if (!(name in COPY_ANCHORS)) throw new BenchUsageError(`--copy takes ${Object.keys(COPY_ANCHORS).join(", ")} (comma-separated) or ''; got '${name}'`);
  }
  const options: Options = {
    species: args.count("species", quick ? 20_000 : 867_000),
    paddingColumns: args.count("padding", 300),
    seed: args.count("seed", 42),
    batchSize: batchSize > 0 ? batchSize : undefined,
    model: args.string("model", "bioclip-2@1"),
    resumeAt: args.flag("no-resume") ? undefined : resumeAt,
    copyAnchors: copyAnchors as CopyAnchor[],
    sample: args.count("sample", 200),
    dataDir: args.string("data-dir", join(tmpdir(), "arbor-bench-text-emb")),
    keepDatabases: args.flag("keep-databases"),
  };
  if (options.species < 10) throw new BenchUsageError("--species must be at least 10");
  return options;
}

const benchmark: Benchmark = {
  name: NAME,
  description:
    "Import of the official BioCLIP 2 species text embeddings (importTextEmbeddings: txt_emb_species.npy + .json through the store's import runner) at TreeOfLife scale on the real PostgreSQL server: time, species/s, peak RSS, rows checked; a second run (skipped), a run killed part-way and resumed; plain COPY of the same rows as the ceiling.",
  options: [
    "--species N        labelled columns (default 867k, TreeOfLife-200M's count; --quick 20k)",
    "--padding N        zero tail columns of the .npy (default 300)",
    "--seed N           tree, names and vectors (default 42)",
    "--batch-size N     rows per import transaction (default: the importer's, 1000)",
    "--model NAME@VER   model version the embeddings are stored under (default bioclip-2@1)",
    "--resume-at F      kill the resume run's process once its checkpoint passes this share of the rows (default 0.4)",
    "--no-resume        skip the kill-and-resume runs",
    "--copy LIST        COPY anchors: text and binary into an unindexed copy of taxon_embedding, binary-indexed into",
    "                   one with the real table's indexes (default all three, comma-separated); --copy '' for none",
    "--sample N         stored vectors compared bit for bit with the generator after each import (default 200)",
    `--data-dir DIR     the synthetic files, reused when their parameters match (default ${join(tmpdir(), "arbor-bench-text-emb")})`,
    "--keep-databases   keep the arbor_bench_text_emb_* databases (dropped at the end by default)",
  ],
  run,
};
export default benchmark;

async function run(context: BenchContext): Promise<BenchReport> {
  const { progress } = context;
  const options = readOptions(context);
  const server = serverUrl((line) => progress.log(line));
  const workDir = mkdtempSync(join(tmpdir(), "arbor-import-text-emb-"));
  const loadByStep: Array<{ step: string; load: [number, number, number] }> = [];
  const step = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    loadByStep.push({ step: name, load: loadAverage() });
    return progress.step(name, work);
  };

  const files = await ensureFiles(options, context);
  const size = formatCount(options.species);
  const databases = { main: `${DATABASE_PREFIX}${size}`, resume: `${DATABASE_PREFIX}${size}_resume` };
  const pools: Pool[] = [];
  const schemas: Measured["schemas"] = {};
  const freshDatabase = async (name: string): Promise<Pool> => {
    await recreateDatabase(server, name);
    const pool = createPool(databaseUrl(server, name), 2);
    pools.push(pool);
    await migrate(pool);
    // The schema is edited while benchmarks run: record what each database was migrated to.
    schemas[name] = await schemaFacts(pool);
    return pool;
  };
  const request = (database: string): Omit<ImportRunRequest, "resultPath"> => ({
    databaseUrl: databaseUrl(server, database),
    npyPath: files.manifest.npyPath,
    jsonPath: files.manifest.jsonPath,
    model: options.model,
    batchSize: options.batchSize,
  });
  const onLine = (line: string) => progress.log(`  import: ${line}`);
  const measure = async (label: string, database: string, pool: Pool): Promise<MeasuredImport> => {
    const run = await step(label, () => runImport(request(database), workDir, { onLine }));
    const result = run.result!;
    progress.log(`${label}: ${(result.importMs / 1000).toFixed(1)} s, peak RSS ${result.peakRssMiB} MiB, stats ${JSON.stringify(result.stats)}`);
    await waitForIdle(pool);
    const state = await step(`check the database after: ${label}`, () => importedState(pool, options.model, files.manifest, options.sample));
    progress.log(`check: ${state.ok ? "ok" : `FAILED: ${state.problems.join("; ")}`} (${state.taxa.toLocaleString("en-US")} taxa, ${state.embeddings.toLocaleString("en-US")} text embeddings)`);
    return { result, processMs: run.processMs, state, load: loadAverage() };
  };

  try {
    const mainPool = await freshDatabase(databases.main);
    const postgres = await postgresInfo(mainPool);
    const fresh = await measure(`import into a fresh database (${databases.main})`, databases.main, mainPool);
    const tuplesBefore = await writtenTuples(mainPool);
    const second = await measure("import again: same files, same database", databases.main, mainPool);
    const secondRun = { ...second, tuplesWritten: (await writtenTuples(mainPool)) - tuplesBefore, sameState: sameCounts(fresh.state, second.state) };

    const copies: Measured["copies"] = [];
    if (options.copyAnchors.length > 0) {
      const modelVersionId = await findModelVersionId(mainPool, options.model);
      if (modelVersionId === undefined) throw new Error(`the import created no model version ${options.model}`);
      const taxonIds = await speciesTaxonIds(mainPool);
      for (const anchor of options.copyAnchors) {
        const copy = await step(`COPY (${anchor}) of the same rows into a copy of taxon_embedding`, () => copyIntoTable(mainPool, files.manifest, modelVersionId, taxonIds, anchor));
        progress.log(`COPY ${anchor}: ${(copy.ms / 1000).toFixed(1)} s, ${Math.round(copy.rows / (copy.ms / 1000)).toLocaleString("en-US")} rows/s, ${(copy.bytes / 2 ** 20).toFixed(0)} MiB sent`);
        copies.push({ ...copy, load: loadAverage() });
      }
    }

    const resume = options.resumeAt === undefined ? undefined : await resumeRuns(options.resumeAt, databases.resume, fresh.state);
    const measured: Measured = { files, schemas, fresh, second: secondRun, copies, resume, otherSizes: otherSizes(options.species) };
    return buildReport({ options: { ...options, batchSize: options.batchSize ?? "importer default" }, measured, postgres, databases, loadByStep });
  } finally {
    await Promise.all(pools.map((pool) => pool.end()));
    if (!options.keepDatabases) for (const name of Object.values(databases)) await dropDatabase(server, name);
    rmSync(workDir, { recursive: true, force: true });
  }

  /** A fresh import killed (SIGKILL) once its checkpoint passes --resume-at, then run again to the end. */
  async function resumeRuns(resumeAt: number, database: string, freshState: ImportedState): Promise<Measured["resume"]> {
    const pool = await freshDatabase(database);
    const targetRows = Math.max(1, Math.floor(options.species * resumeAt));
    const killedRun = await step(`import into a fresh database (${database}), killed after ≥ ${targetRows.toLocaleString("en-US")} rows`, () =>
      runImport(request(database), workDir, { onLine, killWhen: async () => (await checkpointState(pool)).rowsDone >= targetRows }),
    );
    if (!killedRun.killed) throw new Error(`the import finished before its checkpoint reached ${targetRows} rows: nothing to resume (lower --resume-at)`);
    await waitForIdle(pool, KILLED_BACKEND_WAIT_MS);
    const atKill = await checkpointState(pool);
    if (atKill.completed) throw new Error("the killed import had completed: nothing to resume");
    const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM taxon_embedding WHERE kind = 'text'`);
    progress.log(`killed after ${(killedRun.processMs / 1000).toFixed(1)} s; checkpoint ${atKill.rowsDone.toLocaleString("en-US")} rows, ${rows[0]!.n.toLocaleString("en-US")} text embeddings committed`);
    const resumed = await measure("resume the killed import", database, pool);
    return { targetRows, killedAfterMs: killedRun.processMs, atKill, embeddingsAtKill: rows[0]!.n, resumed, sameState: sameCounts(freshState, resumed.state) };
  }
}

/** The official-format files of these parameters: reused from --data-dir when complete, else written now. */
async function ensureFiles(options: Options, { progress }: BenchContext): Promise<Measured["files"]> {
  const params = { species: options.species, paddingColumns: options.paddingColumns, seed: options.seed, dim: 768 };
  const dir = officialFilesDir(options.dataDir, params);
  const existing = readMatchingManifest(dir, params);
  if (existing) {
    progress.log(`reusing the official-format files in ${dir}`);
    return { manifest: existing, reused: true };
  }
  const counter = progress.counter("write txt_emb_species.npy + .json", options.species, "species");
  const manifest: OfficialFilesManifest = await progress.step(`write ${formatCount(options.species)} species (+ ${options.paddingColumns} padding columns) into ${dir}`, async () =>
    writeOfficialFiles(dir, params, (done) => counter.set(done)),
  );
  counter.finish();
  return { manifest, reused: false };
}

function sameCounts(a: ImportedState, b: ImportedState): boolean {
  const ranks = new Set([...Object.keys(a.taxaByRank), ...Object.keys(b.taxaByRank)]);
  return [...ranks].every((rank) => a.taxaByRank[rank] === b.taxaByRank[rank]) && a.embeddings === b.embeddings && a.embeddedTaxa === b.embeddedTaxa;
}

/** Peak RSS of fresh imports at other sizes, from the latest result files (the memory-is-flat comparison). */
function otherSizes(species: number): Measured["otherSizes"] {
  const out: Measured["otherSizes"] = [];
  let names: string[] = [];
  try {
    names = readdirSync(RESULTS_DIR).filter((file) => file.startsWith(`${NAME}.`) && file.endsWith(".json"));
  } catch {
    return out;
  }
  for (const file of names) {
    const result = JSON.parse(readFileSync(join(RESULTS_DIR, file), "utf8")) as { date: string; parameters: { species: number }; figures: Measured };
    if (result.parameters.species === species) continue;
    const fresh = result.figures.fresh.result;
    out.push({ species: result.parameters.species, peakRssMiB: fresh.peakRssMiB, maxRssMiB: fresh.maxRssMiB, date: result.date, file });
  }
  return out.sort((a, b) => a.species - b.species);
}

async function dropDatabase(server: string, name: string): Promise<void> {
  if (!name.startsWith(DATABASE_PREFIX)) throw new Error(`refusing to drop ${name}`);
  const client = new pg.Client({ connectionString: databaseUrl(server, "postgres") });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
