/**
 * import-taxa: the store's real taxonomy importer (`npm run import -- taxa-parent-child <csv>`,
 * services/store/src/importers + repositories/import.repository.ts) on a seeded 1 M-taxon synthetic
 * tree written as an iNaturalist-style parent/child CSV, against plain COPY of the same rows as the
 * ceiling, on the real PostgreSQL server. Also: the importer's phases and statements, its peak RSS
 * at two input sizes, a second run of the same file (idempotence), optionally the 7-rank lineage
 * variant, and auto_explain plans of its slow statements.
 *   npm run bench -- import-taxa [--quick] [--rows 1m] [--lineage] [--profile]
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { createPool, type Pool } from "@arbor/store/db.ts";
import { migrate } from "@arbor/store/migrate.ts";
import { BenchUsageError, formatCount } from "./lib/args.ts";
import type { Benchmark, BenchContext, BenchReport } from "./lib/benchmark.ts";
import { loadAverage, postgresInfo } from "./lib/machine.ts";
import { databaseUrl, recreateDatabase, serverUrl } from "./lib/postgres.ts";
import { median } from "./lib/stats.ts";
import { copyCsvIntoPlainTable, copyFinalState, copyFinalStateVariants, dropPlainTable, dumpFinalState, truncateFinalTables, type CopyTiming } from "./import-taxa/copy-ceiling.ts";
import { writeLineageCsv, writeParentChildCsv, type WrittenFile } from "./import-taxa/csv-files.ts";
import { compareRuns, counterDelta, sameContent, tableContents, tupleCounters, waitForIdle, type IdempotenceCheck } from "./import-taxa/database-state.ts";
import { runImporter, type ImporterRun } from "./import-taxa/importer-runner.ts";
import { buildReport, type MeasuredRuns } from "./import-taxa/report.ts";
import { PROTOTYPES } from "./import-taxa/prototype/index.ts";
import { describeTree } from "./import-taxa/synthetic-tree.ts";

const PROFILE_BELOW_RATIO = 0.2;
const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const MEASURED_FILES = [
  "services/store/src/importers/taxa.importer.ts",
  "services/store/src/importers/import-runner.ts",
  "services/store/src/importers/parent-child.parser.ts",
  "services/store/src/importers/lineage.parser.ts",
  "services/store/src/importers/csv.ts",
  "services/store/src/repositories/import.repository.ts",
  "prisma/migrations/20261128000000_init/migration.sql",
  "prisma/migrations/20261128000100_import_staging/migration.sql",
];

interface Options {
  rows: number;
  memoryRows: number;
  repeats: number;
  /** Repeats (the first ones) followed by a second run of the same file. */
  secondRuns: number;
  copyRepeats: number;
  lineage: boolean;
  profile: "auto" | "yes" | "no";
  explainMs: number;
  seed: number;
  keepFiles: boolean;
  keepDatabases: boolean;
  /** Rounds of final-state COPY variants (no FK checks, GIN indexes built after, large GIN pending list); 0 = none. */
  copyVariants: number;
  /** Appended to the result file's variant (`import-taxa.<rows>-<tag>.json`). */
  tag?: string;
  /** Prototype fix sets, each run as one more fresh import (`--prototype a,b;c`). */
  prototypes: string[][];
}

function readOptions({ args, quick }: BenchContext): Options {
  const rows = args.count("rows", quick ? 20_000 : 1_000_000);
  const profileFlag = args.flag("profile");
  const noProfile = args.flag("no-profile");
  return {
    rows,
    memoryRows: args.count("memory-rows", Math.max(1_000, Math.round(rows / 10))),
    repeats: Math.max(1, args.count("repeats", quick ? 1 : 2)),
    secondRuns: args.count("second-runs", 1),
    copyRepeats: Math.max(1, args.count("copy-repeats", 2)),
    lineage: args.flag("lineage"),
    profile: profileFlag ? "yes" : noProfile ? "no" : "auto",
    explainMs: args.count("explain-ms", quick ? 200 : 1_000),
    seed: args.count("seed", 42),
    keepFiles: args.flag("keep-files"),
    keepDatabases: args.flag("keep-databases"),
    prototypes: parsePrototypes(args.string("prototype", "")),
    copyVariants: args.count("copy-variants", 0),
    tag: parseTag(args.string("tag", "")),
  };
}

const benchmark: Benchmark = {
  name: "import-taxa",
  description:
    "Taxonomy import (npm run import -- taxa-parent-child, the store's real importer) of a seeded 1 M-taxon synthetic tree: rows/s against plain COPY of the same rows, phases, statements, peak RSS at two sizes, a second (idempotent) run; optionally the 7-rank lineage variant and auto_explain plans.",
  options: [
    "--rows N           taxa in the parent/child CSV (default 1m; --quick 20k)",
    "--memory-rows N    a smaller file imported once more, for the peak-RSS comparison (default rows/10)",
    "--repeats N        fresh imports, each in a new database (default 2; --quick 1)",
    "--second-runs N    how many of them are followed by a second run of the same file (default 1; 0 = none)",
    "--copy-repeats N   plain COPY runs before and after each import (default 2)",
    "--lineage          also the 7-rank lineage CSV of the same tree (one row per species) through taxa-lineage",
    "--profile          one more fresh import with auto_explain (ANALYZE) plans of statements ≥ --explain-ms",
    "--no-profile       never; default: profile when the importer is below 0.2× plain COPY",
    "--explain-ms N     auto_explain threshold (default 1000; --quick 200)",
    "--copy-variants N  after the first final-state COPY, N rounds of: the same load with everything, without FK",
    "                   checks, with the GIN and prefix indexes built afterwards, with gin_pending_list_limit = 1GB",
    "--tag NAME         result file import-taxa.<rows>-<NAME>.json (e.g. a focused run that should not replace the main one)",
    "--seed N           tree seed (default 42)",
    "--keep-files       keep the generated CSV files (their folder is printed)",
    "--keep-databases   keep the arbor_bench_import_taxa_* databases (dropped at the end by default)",
    `--prototype a,b;c  one more fresh import per ';'-separated set of prototype fixes (${Object.keys(PROTOTYPES).join(", ") || "none pending"}),`,
    "                   checked to write the same tree as the unpatched importer",
  ],
  run,
};
export default benchmark;

async function run(context: BenchContext): Promise<BenchReport> {
  const { progress } = context;
  const options = readOptions(context);
  const server = serverUrl((line) => progress.log(line));
  const measuredCode = codeVersion();
  const workDir = mkdtempSync(join(tmpdir(), "arbor-import-taxa-"));
  const loadByStep: Array<{ step: string; load: [number, number, number] }> = [];
  const step = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    loadByStep.push({ step: name, load: loadAverage() });
    return progress.step(name, work);
  };

  const size = formatCount(options.rows);
  // Named after the main size: two runs of different sizes never share a database.
  const prefix = `arbor_bench_import_taxa_${size}`;
  const databases = {
    import: prefix,
    copy: `${prefix}_copy`,
    memory: `${prefix}_memory`,
    lineage: `${prefix}_lineage`,
    prototype: `${prefix}_prototype`,
  };
  const created = new Set<string>();
  const freshDatabase = async (name: string): Promise<Pool> => {
    await recreateDatabase(server, name);
    created.add(name);
    const pool = createPool(databaseUrl(server, name), 2);
    await migrate(pool);
    return pool;
  };

  const tree = describeTree(options.rows, options.seed);
  progress.log(`tree: ${Object.entries(tree.byRank).map(([rank, n]) => `${n.toLocaleString("en-US")} ${rank}`).join(", ")}; work dir ${workDir}`);
  const files: { main: WrittenFile; memory: WrittenFile; lineage?: WrittenFile } = {
    main: await step(`write ${size}-row parent/child CSV`, () =>
      writeParentChildCsv(join(workDir, `taxa-${size}.csv`), options.rows, options.seed, progress.counter("csv", options.rows, "rows"))),
    memory: await step(`write ${formatCount(options.memoryRows)}-row parent/child CSV`, () =>
      writeParentChildCsv(join(workDir, `taxa-${formatCount(options.memoryRows)}.csv`), options.memoryRows, options.seed)),
  };
  if (options.lineage) {
    files.lineage = await step(`write lineage CSV of the ${size}-row tree`, () =>
      writeLineageCsv(join(workDir, `lineage-${size}.csv`), options.rows, options.seed, progress.counter("lineage csv", options.rows, "tree rows")));
  }

  const copyPool = await freshDatabase(databases.copy);
  const postgres = await postgresInfo(copyPool);
  const measured: MeasuredRuns = { plainCopy: [], finalCopy: [], fresh: [], second: [], idempotence: [], prototypes: [] };
  const plainCopy = async (label: string) => {
    for (let i = 0; i < options.copyRepeats; i++) {
      const timing = await step(`plain COPY of the ${size}-row CSV (${label}, ${i + 1}/${options.copyRepeats})`, () => copyCsvIntoPlainTable(copyPool, files.main.path, "parent-child"));
      checkRows(timing, files.main.rows, "plain COPY");
      progress.log(`plain COPY: ${rate(timing.rows, timing.ms)} rows/s`);
      measured.plainCopy.push({ ...timing, label, load: loadAverage() });
    }
    await dropPlainTable(copyPool);
  };
  const importRun = async (label: string, database: string, file: string, kind: "taxa-parent-child" | "taxa-lineage", force: boolean, explainMs?: number, prototypes?: string[]) => {
    const result = await step(`importer: ${label}`, () =>
      runImporter({ databaseUrl: databaseUrl(server, database), kind, path: file, force, explainMs, prototypes }, workDir, (line) => progress.log(`  importer: ${line}`)));
    progress.log(`importer ${label}: ${(result.importMs / 1000).toFixed(1)}s, ${rate(result.rows, result.importMs)} rows/s, max RSS ${result.maxRssMiB} MiB, stats ${JSON.stringify(result.stats)}`);
    return { ...result, label, load: loadAverage() };
  };

  try {
    for (let repeat = 1; repeat <= options.repeats; repeat++) {
      await plainCopy(`before import ${repeat}`);
      const pool = await freshDatabase(databases.import);
      try {
        const fresh = await importRun(`fresh ${size} (${repeat}/${options.repeats})`, databases.import, files.main.path, "taxa-parent-child", false);
        measured.fresh.push(fresh);
        await waitForIdle(pool);
        const contentsBefore = await tableContents(pool);
        await plainCopy(`after import ${repeat}`);
        if (repeat <= options.secondRuns) {
          const countersBefore = await tupleCounters(pool);
          const second = await importRun(`second run of the same file (--force) (${repeat}/${options.secondRuns})`, databases.import, files.main.path, "taxa-parent-child", true);
          measured.second.push(second);
          await waitForIdle(pool);
          const check = compareRuns(contentsBefore, await tableContents(pool), counterDelta(countersBefore, await tupleCounters(pool)));
          measured.idempotence.push(check);
          progress.log(`second run: data tables ${check.unchanged ? "unchanged" : "CHANGED"}, ${check.dataRowsChanged} data rows inserted/updated/deleted`);
        }
        const dumps = await step("dump the importer's output (binary COPY TO)", () => dumpFinalState(pool, workDir));
        const copyResult = await step(`final-state COPY into the real tables (${repeat}/${options.repeats})`, async () => {
          await truncateFinalTables(copyPool);
          return copyFinalState(copyPool, dumps);
        });
        progress.log(`final-state COPY: ${(copyResult.ms / 1000).toFixed(1)}s (${Object.entries(copyResult.tables).map(([t, c]) => `${t} ${(c.ms / 1000).toFixed(1)}s`).join(", ")})`);
        measured.finalCopy.push({ ...copyResult, label: `after import ${repeat}`, load: loadAverage() });
        await truncateFinalTables(copyPool);
        if (options.copyVariants > 0 && repeat === 1) {
          measured.copyVariants = await step(`final-state COPY variants, ${options.copyVariants} rounds`, () =>
            copyFinalStateVariants(copyPool, dumps, options.copyVariants, (variant) =>
              progress.log(`final-state COPY, ${variant.variant} (round ${variant.round}): ${(variant.ms / 1000).toFixed(1)}s`)));
        }
        for (const set of options.prototypes) {
          const prototypePool = await freshDatabase(databases.prototype);
          try {
            const run = await importRun(`fresh ${size} with prototype ${set.join("+")} (${repeat}/${options.repeats})`, databases.prototype, files.main.path, "taxa-parent-child", false, undefined, set);
            await waitForIdle(prototypePool);
            const sameTree = sameContent(contentsBefore, await tableContents(prototypePool));
            progress.log(`prototype ${set.join("+")}: ${sameTree ? "same tree" : "DIFFERENT TREE"} as the unpatched import`);
            measured.prototypes.push({ ...run, set, sameTree });
          } finally {
            await prototypePool.end();
          }
        }
      } finally {
        await pool.end();
      }
    }
    await plainCopy("after the last import");

    const memoryPool = await freshDatabase(databases.memory);
    await memoryPool.end();
    measured.memory = await importRun(`fresh ${formatCount(options.memoryRows)} (peak RSS comparison)`, databases.memory, files.memory.path, "taxa-parent-child", false);

    if (files.lineage) {
      const lineagePool = await freshDatabase(databases.lineage);
      await lineagePool.end();
      measured.lineageCopy = [];
      for (let i = 0; i < options.copyRepeats; i++) {
        const timing = await step(`plain COPY of the lineage CSV (${i + 1}/${options.copyRepeats})`, () => copyCsvIntoPlainTable(copyPool, files.lineage!.path, "lineage"));
        checkRows(timing, files.lineage.rows, "lineage COPY");
        measured.lineageCopy.push({ ...timing, label: "lineage", load: loadAverage() });
      }
      await dropPlainTable(copyPool);
      measured.lineage = await importRun(`fresh lineage ${formatCount(files.lineage.rows)} species rows`, databases.lineage, files.lineage.path, "taxa-lineage", false);
    }

    const ratio = rate(files.main.rows, median(measured.fresh.map((r) => r.importMs))) / rate(files.main.rows, median(measured.plainCopy.map((c) => c.ms)));
    if (options.profile === "yes" || (options.profile === "auto" && ratio < PROFILE_BELOW_RATIO)) {
      progress.log(`profiling: importer/COPY = ${ratio.toFixed(3)}; one more fresh import with auto_explain ≥ ${options.explainMs} ms`);
      const pool = await freshDatabase(databases.import);
      await pool.end();
      measured.profile = await importRun(`fresh ${size} with auto_explain (timings inflated by EXPLAIN ANALYZE)`, databases.import, files.main.path, "taxa-parent-child", false, options.explainMs);
    }
  } finally {
    await copyPool.end();
    if (!options.keepDatabases) {
      for (const name of created) await dropDatabase(server, name);
    }
    if (!options.keepFiles) rmSync(workDir, { recursive: true, force: true });
    else progress.log(`CSV files kept in ${workDir}`);
  }

  return buildReport({ options, tree, files, measured, postgres, loadByStep, databases, profileBelowRatio: PROFILE_BELOW_RATIO, codeVersion: measuredCode });
}

/** The commit, and the importer files' digests and git status (they change while benchmarks run). */
function codeVersion(): Record<string, unknown> {
  const git = (...args: string[]) => execFileSync("git", args, { cwd: REPO_ROOT, encoding: "utf8" }).trim();
  const files: Record<string, string> = {};
  for (const file of MEASURED_FILES) {
    const path = join(REPO_ROOT, file);
    files[file] = existsSync(path) ? createHash("sha256").update(readFileSync(path)).digest("hex").slice(0, 16) : "missing";
  }
  return { commit: git("rev-parse", "HEAD"), uncommitted: git("status", "--porcelain", "--", ...MEASURED_FILES).split("\n").filter(Boolean), sha256: files };
}

function parseTag(text: string): string | undefined {
  if (text === "") return undefined;
  if (!/^[a-z0-9-]+$/.test(text)) throw new BenchUsageError(`--tag must be lower-case letters, digits and dashes; got '${text}'`);
  return text;
}

function parsePrototypes(text: string): string[][] {
  const sets = text.split(";").map((set) => set.split(",").map((name) => name.trim()).filter(Boolean)).filter((set) => set.length > 0);
  for (const name of sets.flat()) {
    if (!PROTOTYPES[name]) throw new BenchUsageError(`--prototype: unknown '${name}'; known: ${Object.keys(PROTOTYPES).join(", ") || "none"}`);
  }
  return sets;
}

function checkRows(timing: CopyTiming, expected: number, what: string): void {
  if (timing.rows !== expected) throw new Error(`${what} loaded ${timing.rows} rows, the file has ${expected}`);
}

function rate(rows: number, ms: number): number {
  return Math.round(rows / (ms / 1000));
}

async function dropDatabase(server: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl(server, "postgres") });
  await client.connect();
  try {
    // Only the databases this benchmark created (arbor_bench_import_taxa_*).
    if (/^arbor_bench_import_taxa_[a-z0-9_]+$/.test(name)) await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

export type { ImporterRun, IdempotenceCheck, Options };
