import { formatCount } from "../lib/args.ts";
import type { BenchReport } from "../lib/benchmark.ts";
import type { PostgresInfo } from "../lib/machine.ts";
import { median } from "../lib/stats.ts";
import type { Cell, ResultTable } from "../lib/table.ts";
import { BASELINE_VARIANT, type CopyTiming, type CopyVariant, type FinalTable } from "./copy-ceiling.ts";
import type { WrittenFile } from "./csv-files.ts";
import { DATA_TABLES, type IdempotenceCheck } from "./database-state.ts";
import type { ImporterRun } from "./importer-runner.ts";
import { phaseBreakdown, resolutionLevels } from "./phases.ts";
import { PROTOTYPES } from "./prototype/index.ts";
import { RANKS, type TreeShape } from "./synthetic-tree.ts";
import { percent, perSecond, seconds } from "../lib/format.ts";

type Load = [number, number, number];
export type LabeledRun = ImporterRun & { label: string; load: Load };
export type LabeledCopy = CopyTiming & { label: string; load: Load };
export type FinalCopy = { ms: number; tables: Record<FinalTable, CopyTiming>; commitMs: number; label: string; load: Load };

export interface MeasuredRuns {
  plainCopy: LabeledCopy[];
  finalCopy: FinalCopy[];
  fresh: LabeledRun[];
  second: LabeledRun[];
  idempotence: IdempotenceCheck[];
  memory?: LabeledRun;
  lineageCopy?: LabeledCopy[];
  lineage?: LabeledRun;
  profile?: LabeledRun;
  prototypes: Array<LabeledRun & { set: string[]; sameTree: boolean }>;
  copyVariants?: CopyVariant[];
}

export interface ReportInput {
  options: { rows: number; memoryRows: number; repeats: number; secondRuns: number; copyRepeats: number; lineage: boolean; profile: string; explainMs: number; seed: number; prototypes: string[][]; tag?: string };
  /** Which importer code was measured (the store is edited while benchmarks run). */
  codeVersion: Record<string, unknown>;
  tree: TreeShape;
  files: { main: WrittenFile; memory: WrittenFile; lineage?: WrittenFile };
  measured: MeasuredRuns;
  postgres: PostgresInfo;
  loadByStep: Array<{ step: string; load: Load }>;
  databases: Record<string, string>;
  profileBelowRatio: number;
}

const TOP_STATEMENTS = 15;
const STATEMENTS_KEPT = 40;

export function buildReport(input: ReportInput): BenchReport {
  const { options, files, measured } = input;
  const rows = files.main.rows;
  const plainMs = median(measured.plainCopy.map((c) => c.ms));
  const plainRate = perSecond(rows, plainMs);

  const tables: ResultTable[] = [
    comparisonTable(input, plainRate),
    ...(measured.copyVariants?.length ? [copyVariantTable(measured.copyVariants)] : []),
    phaseTable(measured),
    levelTable(measured.fresh[0]!),
    statementTable(measured.fresh[0]!),
    memoryTable(measured),
    ...(measured.idempotence.length > 0 ? [idempotenceTable(measured.idempotence, measured.second)] : []),
  ];
  if (measured.lineage && measured.lineageCopy && files.lineage) tables.push(lineageTable(measured.lineage, measured.lineageCopy, files.lineage));
  if (measured.profile) tables.push(planTable(measured.profile, options.explainMs));

  const loads = input.loadByStep.map((s) => s.load[0]);
  const notes = [
    `Input: ${formatCount(rows)}-row parent/child CSV (${(files.main.bytes / 2 ** 20).toFixed(1)} MiB): ${Object.entries(input.tree.byRank).map(([rank, n]) => `${n.toLocaleString("en-US")} ${rank}`).join(", ")}; species per genus ${input.tree.speciesPerGenus.min}–${input.tree.speciesPerGenus.max} (mean ${input.tree.speciesPerGenus.mean}); seed ${options.seed}.`,
    `Medians over the runs shown; runs were interleaved (COPY, import, COPY, second run, final-state COPY, …). 1-minute load average over the steps: ${Math.min(...loads)}–${Math.max(...loads)} on this 2-core machine shared with other sessions: absolute figures are noisy and pessimistic; the ratios against COPY in the same run are the figures to compare.`,
  ];
  if (measured.profile === undefined && options.profile !== "no") {
    notes.push(`No auto_explain profile: importer/COPY was not below ${input.profileBelowRatio} (or --profile was not given).`);
  }
  return {
    variant: options.tag ? `${formatCount(options.rows)}-${options.tag}` : formatCount(options.rows),
    parameters: { ...options, databases: input.databases, plainCopyColumns: "parent_taxon_id int, taxon_id int, rank_level int, name text", codeVersion: input.codeVersion },
    postgres: input.postgres,
    tables,
    figures: {
      tree: input.tree,
      files,
      plainCopy: measured.plainCopy,
      finalCopy: measured.finalCopy,
      copyVariants: measured.copyVariants,
      fresh: measured.fresh.map((run, i) => slim(run, i === 0)),
      second: measured.second.map((run, i) => slim(run, i === 0)),
      idempotence: measured.idempotence,
      memory: measured.memory && slim(measured.memory, false),
      lineageCopy: measured.lineageCopy,
      lineage: measured.lineage && slim(measured.lineage, true),
      profile: measured.profile && { ...slim(measured.profile, true), plans: measured.profile.plans },
      prototypes: measured.prototypes.map((run) => ({ set: run.set, sameTree: run.sameTree, ...slim(run, false) })),
      loadByStep: input.loadByStep,
      summary: {
        plainCopyRowsPerSecond: plainRate,
        importerRowsPerSecond: perSecond(rows, median(measured.fresh.map((r) => r.importMs))),
        importerOverCopy: perSecond(rows, median(measured.fresh.map((r) => r.importMs))) / plainRate,
        secondRunRowsPerSecond: measured.second.length > 0 ? perSecond(rows, median(measured.second.map((r) => r.importMs))) : null,
        finalStateCopyRowsPerSecond: perSecond(rows, median(measured.finalCopy.map((c) => c.ms))),
        maxRssMiB: { [files.memory.rows]: measured.memory?.maxRssMiB ?? null, [rows]: median(measured.fresh.map((r) => r.maxRssMiB)) },
        secondRunUnchanged: measured.idempotence.length > 0 ? measured.idempotence.every((c) => c.unchanged && c.dataRowsChanged === 0) : null,
      },
    },
    notes,
  };
}

function comparisonTable(input: ReportInput, plainRate: number): ResultTable {
  const { measured, files } = input;
  const rows = files.main.rows;
  const line = (method: string, measures: string, ms: number[]): Cell[] => {
    const rate = perSecond(rows, median(ms));
    return [method, measures, ms.length, seconds(median(ms)), seconds(Math.min(...ms)), seconds(Math.max(...ms)), rate, rate / plainRate];
  };
  return {
    title: `Import of ${formatCount(rows)} taxa against COPY of the same rows`,
    columns: ["method", "what it measures", "runs", "median s", "min s", "max s", "rows/s", "× plain COPY"],
    rows: [
      line("plain COPY", "CSV file → COPY (csv) into an unindexed 4-column table", measured.plainCopy.map((c) => c.ms)),
      line("final-state COPY", "importer's output (taxon, taxon_name, taxon_external_id) → real tables, indexes, FKs", measured.finalCopy.map((c) => c.ms)),
      line("final-state COPY, taxon only", "the taxon rows alone (ancestor_ids, depth, child_count) → real taxon table, its 6 indexes and parent FK", measured.finalCopy.map((c) => c.tables.taxon.ms)),
      line("importer, fresh database", "importTaxa(taxa-parent-child): hash, check, stage, resolve, names, child counts", measured.fresh.map((r) => r.importMs)),
      ...(measured.second.length > 0 ? [line("importer, second run", "same file again (--force) on the imported tree: nothing to change", measured.second.map((r) => r.importMs))] : []),
      ...prototypeSets(measured).map(({ key, runs }) =>
        line(`importer + prototype ${key}`, `fresh database, fixes patched in the importer process (see below); same tree: ${runs.every((r) => r.sameTree) ? "yes" : "NO"}`, runs.map((r) => r.importMs)),
      ),
    ],
    notes: [
      "rows/s = CSV data rows / wall time. Importer times are importTaxa() in its own process (start-up excluded; it adds about " +
        `${seconds(median(measured.fresh.map((r) => r.processMs - r.importMs)))} s).`,
      "Final-state COPY writes 3 rows per input row (taxon, its scientific name, its external id) with every index and foreign key of the schema; its rows/s is per input row too.",
      ...prototypeSets(measured).map(({ key, names }) => `${key} = ${names.join(" + ")}.`),
      ...[...new Set(measured.prototypes.flatMap((run) => run.set))].map((name) => `${name}: ${PROTOTYPES[name]?.description ?? "?"}.`),
    ],
  };
}

function copyVariantTable(variants: CopyVariant[]): ResultTable {
  const names = [...new Set(variants.map((v) => v.variant))];
  const baseline = median(variants.filter((v) => v.variant === BASELINE_VARIANT).map((v) => v.ms));
  return {
    title: "What the final-state COPY pays for (same dump, variants alternated, medians)",
    columns: ["variant", "runs", "total s", "taxon s", "taxon_name s", "taxon_external_id s", "× all indexes and FKs", "notes"],
    rows: names.map((name) => {
      const runs = variants.filter((v) => v.variant === name);
      const ms = median(runs.map((v) => v.ms));
      const builds = runs[0]!.indexBuildMs;
      const buildNote = builds
        ? `total includes the builds: ${Object.keys(builds).map((index) => `${index} ${seconds(median(runs.map((v) => v.indexBuildMs![index]!)))} s`).join(", ")}`
        : "";
      return [
        name,
        runs.length,
        seconds(ms),
        seconds(median(runs.map((v) => v.tables.taxon.ms))),
        seconds(median(runs.map((v) => v.tables.taxon_name.ms))),
        seconds(median(runs.map((v) => v.tables.taxon_external_id.ms))),
        baseline / ms,
        buildNote,
      ];
    }),
    notes: [
      "Each round loads the baseline, then each variant, from empty tables on the copy database. FK checks off = session_replication_role = replica (superuser; what pg_restore does): not something an importer can do, it shows what the checks cost.",
      "A GIN pending list larger than the load defers the merge to the next VACUUM / gin_clean_pending_list(): searches scan the unmerged list until then.",
    ],
  };
}

function phaseTable(measured: MeasuredRuns): ResultTable {
  const fresh = measured.fresh.map(phaseBreakdown);
  const second = measured.second.map(phaseBreakdown);
  const withSecond = second.length > 0;
  const sets = prototypeSets(measured).map(({ key, runs }) => ({ key, breakdowns: runs.map(phaseBreakdown) }));
  const freshTotal = median(measured.fresh.map((r) => r.importMs));
  const stepMedian = (breakdowns: ReturnType<typeof phaseBreakdown>[], i: number) => median(breakdowns.map((runRows) => runRows[i]!.ms));
  return {
    title: "Where the importer's time goes (median per step over the runs)",
    columns: ["step", "fresh s", "share of fresh", ...(withSecond ? ["second run s"] : []), ...sets.map((set) => `${set.key} s`)],
    rows: fresh[0]!.map((row, i) => {
      const freshMs = stepMedian(fresh, i);
      return [row.phase, seconds(freshMs), percent(freshMs / freshTotal), ...(withSecond ? [seconds(stepMedian(second, i))] : []), ...sets.map((set) => seconds(stepMedian(set.breakdowns, i)))];
    }),
    notes: ["From the progress passes and timed ImportRepository calls (import-taxa/import-profiler.ts); steps are disjoint parts of the import's wall time."],
  };
}

function levelTable(run: LabeledRun): ResultTable {
  return {
    title: "Resolution level by level (first fresh run)",
    columns: ["level", "rank", "nodes", "s", "nodes/s"],
    rows: resolutionLevels(run).map((level) => [level.level, RANKS[level.level]?.rank ?? "–", level.nodes, seconds(level.ms), level.nodes === null ? null : perSecond(level.nodes, level.ms)]),
    notes: ["A level runs from its ANALYZE _ready to the INSERT INTO _ready that collects the next one (matching, moves, inserts, _node)."],
  };
}

function statementTable(run: LabeledRun): ResultTable {
  return {
    title: `Slowest statements of the first fresh run (top ${TOP_STATEMENTS} by total time)`,
    columns: ["issued by", "statement (start)", "calls", "rows", "s", "share"],
    rows: run.statements.slice(0, TOP_STATEMENTS).map((s) => [s.context, s.sql.slice(0, 90), s.calls, s.rows, seconds(s.ms), percent(s.ms / run.importMs)]),
    notes: ["Wall time of each client.query as seen by the importer process (server time + round trip)."],
  };
}

function memoryTable(measured: MeasuredRuns): ResultTable {
  const runs = [...(measured.memory ? [measured.memory] : []), ...measured.fresh];
  const peak = (run: LabeledRun, prefix: string) => run.phases.find((p) => p.name.startsWith(prefix))?.peakRssMiB ?? null;
  return {
    title: "Peak memory (and CPU) of the importer process",
    columns: ["run", "file rows", "RSS at start MiB", "max RSS MiB", "peak JS heap MiB", "check pass MiB", "write pass MiB", "finish MiB", "process CPU s", "wall s"],
    rows: runs.map((run) => [
      run.label,
      run.rows,
      run.startRssMiB,
      run.maxRssMiB,
      run.peakHeapUsedMiB,
      peak(run, "check"),
      peak(run, "write"),
      peak(run, "finish"),
      run.cpuMs === undefined ? null : seconds(run.cpuMs),
      seconds(run.importMs),
    ]),
    notes: [
      "max RSS = process.resourceUsage().maxRSS; pass columns are the highest RSS sampled every 100 ms during that pass. RSS at start is Node + tsx + the store's modules.",
      "process CPU = user + system time of the importer's Node process (parsing, hashing, COPY text, the pg client); the rest of the wall time is spent waiting for the server (or for a CPU on a loaded machine).",
    ],
  };
}

function idempotenceTable(checks: IdempotenceCheck[], second: LabeledRun[]): ResultTable {
  const check = checks[0]!;
  return {
    title: "Second run of the same file (idempotence; first repeat)",
    columns: ["table", "rows after 1st run", "rows after 2nd run", "same checksum", "inserted", "updated", "deleted"],
    rows: [...DATA_TABLES, "import_taxon_staging"].map((table) => [
      table,
      check.contentsBefore[table]!.rows,
      check.contentsAfter[table]!.rows,
      check.contentsBefore[table]!.checksum === check.contentsAfter[table]!.checksum ? "yes" : "NO",
      check.counters[table]!.inserted,
      check.counters[table]!.updated,
      check.counters[table]!.deleted,
    ]),
    notes: [
      `Data tables unchanged in ${checks.filter((c) => c.unchanged && c.dataRowsChanged === 0).length} of ${checks.length} second runs; importer stats of the second run: ${JSON.stringify(second[0]?.stats ?? {})}.`,
      "Checksum: sum of hashtextextended(row::text) over the whole table (every column, updated_at included). inserted/updated/deleted: pg_stat_user_tables deltas over the second run; the staging table is filled and emptied by design.",
    ],
  };
}

function lineageTable(run: LabeledRun, copies: LabeledCopy[], file: WrittenFile): ResultTable {
  const copyMs = median(copies.map((c) => c.ms));
  const copyRate = perSecond(file.rows, copyMs);
  const importRate = perSecond(file.rows, run.importMs);
  return {
    title: `Lineage variant: ${file.rows.toLocaleString("en-US")} species rows (7 ranks) of the same tree`,
    columns: ["method", "runs", "s", "rows/s", "× plain COPY", "taxa created"],
    rows: [
      ["plain COPY: lineage CSV → unindexed 8-column table", copies.length, seconds(copyMs), copyRate, 1, null],
      ["importer: taxa-lineage, fresh database", 1, seconds(run.importMs), importRate, importRate / copyRate, run.stats.inserted ?? null],
    ],
    notes: [`Each lineage row stages 7 nodes (the importer keeps the first of each key). Importer phases: ${phaseBreakdown(run).filter((p) => p.ms >= 1000).map((p) => `${p.phase} ${seconds(p.ms)} s`).join("; ")}.`],
  };
}

function planTable(run: LabeledRun, explainMs: number): ResultTable {
  const plans = run.plans.map((plan) => {
    const duration = Number(/^duration: ([\d.]+) ms/.exec(plan.text)?.[1] ?? Number.NaN);
    const query = /Query Text: ([\s\S]*?)\n(?=\S)/.exec(plan.text)?.[1] ?? "";
    const planLines = plan.text.split("\n").filter((line) => /->|^\s*(Insert|Update|Delete|Hash|Nested|Merge|Seq|Index|Sort|Aggregate|Unique|Bitmap|Result|CTE)/.test(line));
    return { context: plan.context, duration, query: query.replace(/\s+/g, " ").trim(), top: (planLines[0] ?? "").trim() };
  });
  plans.sort((a, b) => b.duration - a.duration);
  return {
    title: `auto_explain: statements ≥ ${explainMs} ms in the profiled fresh import (${seconds(run.importMs)} s with EXPLAIN ANALYZE on)`,
    columns: ["issued by", "ms", "statement (start)", "top plan node"],
    rows: plans.slice(0, TOP_STATEMENTS).map((p) => [p.context, Math.round(p.duration), p.query.slice(0, 80), p.top.slice(0, 110)]),
    notes: ["Full plans (ANALYZE, BUFFERS) in figures.profile.plans; timing instrumentation slows this run, so its durations are for proportions only."],
  };
}

/** Runs grouped by prototype set, labelled P1, P2, … in the order the sets were given. */
function prototypeSets(measured: MeasuredRuns): Array<{ key: string; names: string[]; runs: MeasuredRuns["prototypes"] }> {
  const bySet = new Map<string, MeasuredRuns["prototypes"]>();
  for (const run of measured.prototypes) {
    const set = run.set.join("+");
    bySet.set(set, [...(bySet.get(set) ?? []), run]);
  }
  return [...bySet.entries()].map(([set, runs], i) => ({ key: `P${i + 1}`, names: set.split("+"), runs }));
}

/** A run without its bulky parts (the timeline only for the first run of a kind). */
function slim(run: LabeledRun, withTimeline: boolean) {
  const { plans: _plans, timeline, statements, ...rest } = run;
  return { ...rest, statements: statements.slice(0, STATEMENTS_KEPT), ...(withTimeline ? { timeline } : {}), phaseBreakdown: phaseBreakdown(run), levels: resolutionLevels(run) };
}
