import { formatCount } from "../lib/args.ts";
import type { BenchReport } from "../lib/benchmark.ts";
import type { PostgresInfo } from "../lib/machine.ts";
import type { Cell, ResultTable } from "../lib/table.ts";
import type { CopyTiming } from "./copy-anchor.ts";
import type { CheckpointState, ImportedState } from "./database-state.ts";
import type { ImportRunResult } from "./import-process.ts";
import type { OfficialFilesManifest } from "./official-files.ts";
import { percent, perSecond, seconds } from "../lib/format.ts";

type Load = [number, number, number];

export interface MeasuredImport {
  result: ImportRunResult;
  processMs: number;
  state: ImportedState;
  load: Load;
}

export interface Measured {
  files: { manifest: OfficialFilesManifest; reused: boolean };
  /** Per database: the migrations applied and taxon_embedding's indexes. */
  schemas: Record<string, { migrations: string[]; taxonEmbeddingIndexes: string[] }>;
  fresh: MeasuredImport;
  second: MeasuredImport & { tuplesWritten: number; sameState: boolean };
  copies: Array<CopyTiming & { load: Load }>;
  resume?: {
    targetRows: number;
    killedAfterMs: number;
    atKill: CheckpointState;
    /** Text embeddings committed when the process was killed (equal to atKill.rowsDone: they commit with their checkpoint). */
    embeddingsAtKill: number;
    resumed: MeasuredImport;
    sameState: boolean;
  };
  /** Peak RSS of fresh imports of other sizes, from earlier result files. */
  otherSizes: Array<{ species: number; peakRssMiB: number; maxRssMiB: number; date: string; file: string }>;
}

export interface ReportInput {
  options: Record<string, unknown> & { species: number };
  measured: Measured;
  postgres: PostgresInfo;
  databases: Record<string, string>;
  loadByStep: Array<{ step: string; load: Load }>;
}

const TOP_STATEMENTS = 8;

export function buildReport(input: ReportInput): BenchReport {
  const { measured, options } = input;
  const binary = measured.copies.find((copy) => copy.anchor === "binary") ?? measured.copies[0];
  const tables: ResultTable[] = [runTable(input, binary), phaseTable(measured.fresh), statementTable(measured.fresh), memoryTable(input), filesTable(measured.files)];
  const loads = input.loadByStep.map((step) => step.load[0]);
  const schemas = Object.values(measured.schemas);
  const notes = [
    `taxon_embedding's indexes (which the unindexed COPY table does not have): ${schemas[0]?.taxonEmbeddingIndexes.join("; ") ?? "–"}.`,
    `1-minute load average over the steps: ${Math.min(...loads)}–${Math.max(...loads)} on a 2-core machine shared with other sessions: absolute figures are noisy; compare the ratios against COPY in the same run.`,
  ];
  if (schemas.some((schema) => JSON.stringify(schema) !== JSON.stringify(schemas[0]))) {
    notes.push(`WARNING: the databases of this run were migrated to different schemas (the migrations changed during the run): ${JSON.stringify(measured.schemas)}`);
  }
  if (measured.otherSizes.length > 0) {
    const here = measured.fresh.result.peakRssMiB;
    notes.push(
      `Peak RSS of the fresh import by size (flat if the import streams): ${here} MiB at ${formatCount(options.species)} species here, against ${measured.otherSizes.map((other) => `${other.peakRssMiB} MiB at ${formatCount(other.species)} (${other.file}, ${other.date.slice(0, 10)})`).join("; ")}.`,
    );
  }
  return {
    variant: formatCount(options.species),
    parameters: { ...options, databases: input.databases },
    postgres: input.postgres,
    tables,
    notes,
    figures: { ...measured, loadByStep: input.loadByStep },
  };
}

function runTable(input: ReportInput, anchor: CopyTiming | undefined): ResultTable {
  const { measured, options } = input;
  const species = options.species;
  const anchorRate = anchor ? perSecond(species, anchor.ms) : null;
  const vsAnchor = (rate: number | null) => (rate !== null && anchorRate ? rate / anchorRate : null);
  const importRow = (label: string, run: MeasuredImport, rows: number, check: string): Cell[] => {
    const rate = rows > 0 ? perSecond(rows, run.result.importMs) : null;
    return [label, seconds(run.result.importMs), rate, vsAnchor(rate), run.result.peakRssMiB, run.state.taxa, run.state.embeddings, check];
  };
  const stateCheck = (state: ImportedState) => (state.ok ? "all columns once, sample exact" : `FAILED: ${state.problems.join("; ")}`);
  const rows: Cell[][] = [
    importRow("fresh import", measured.fresh, species, stateCheck(measured.fresh.state)),
    importRow("second run, same files and database", measured.second, 0, secondCheck(measured.second)),
  ];
  const resume = measured.resume;
  if (resume) {
    rows.push([`resume: killed at ≥ ${resume.targetRows.toLocaleString("en-US")} rows (process time)`, seconds(resume.killedAfterMs), perSecond(resume.atKill.rowsDone, resume.killedAfterMs), null, null, null, resume.embeddingsAtKill, `checkpoint ${resume.atKill.rowsDone.toLocaleString("en-US")} rows${resume.embeddingsAtKill === resume.atKill.rowsDone ? " = embeddings committed" : " ≠ EMBEDDINGS COMMITTED"}`]);
    const from = resume.resumed.result.resumedFrom;
    const fromCheckpoint = from === resume.atKill.rowsDone ? `resumed from ${from.toLocaleString("en-US")}` : `RESUMED FROM ${from}, checkpoint ${resume.atKill.rowsDone}`;
    rows.push(importRow("resume: the same import again", resume.resumed, species - from, `${fromCheckpoint}; ${resume.sameState ? "same counts as the fresh import" : "COUNTS DIFFER"}; ${stateCheck(resume.resumed.state)}`));
  }
  for (const copy of measured.copies) {
    const rate = perSecond(copy.rows, copy.ms);
    const what = copy.anchor === "binary-indexed" ? "COPY, binary, into an indexed table" : `plain COPY, ${copy.anchor}`;
    rows.push([`${what} (${(copy.bytes / 2 ** 30).toFixed(2)} GiB)`, seconds(copy.ms), rate, vsAnchor(rate), null, null, copy.rows, copy.rows === species ? "every labelled column" : `${copy.rows} rows`]);
  }
  return {
    title: `Official text-embedding import, ${formatCount(species)} species (${(measured.files.manifest.npyBytes / 2 ** 30).toFixed(2)} GiB .npy)`,
    columns: ["run", "seconds", "species/s", anchor ? `× ${anchor.anchor} COPY` : "× COPY", "peak RSS MiB", "taxa", "text embeddings", "check"],
    rows,
    notes: [
      "Import seconds: importTextEmbeddings() in its own process (hashing both files, the check pass over every row, the write pass, the finish), start-up excluded. species/s of the resumed run counts the rows it wrote.",
      `Plain COPY: the same (taxon id, vector) rows, read from the same files by the same reader, into an unindexed table LIKE taxon_embedding (binary-indexed: LIKE … INCLUDING ALL, the real table's indexes); × ${anchor?.anchor ?? "–"} COPY = species/s ÷ that COPY's species/s.`,
    ],
  };
}

function secondCheck(second: Measured["second"]): string {
  const skipped = second.result.alreadyDone ? "skipped (already imported)" : "NOT SKIPPED";
  return `${skipped}; ${second.sameState ? "counts unchanged" : "COUNTS CHANGED"}; ${second.tuplesWritten} tuples written`;
}

function phaseTable(run: MeasuredImport): ResultTable {
  return {
    title: "Phases of the fresh import",
    columns: ["phase", "seconds", "share", "peak RSS MiB"],
    rows: run.result.phases.filter((phase) => phase.ms >= 1).map((phase) => [phase.name, seconds(phase.ms), percent(phase.ms / run.result.importMs), phase.peakRssMiB]),
    notes: [`Process CPU ${seconds(run.result.cpuMs)} s of ${seconds(run.result.importMs)} s wall; the rest is the server (and waiting for it).`],
  };
}

function statementTable(run: MeasuredImport): ResultTable {
  return {
    title: `Slowest statements of the fresh import (top ${TOP_STATEMENTS} by total time)`,
    columns: ["called from", "statement", "calls", "rows", "seconds", "share"],
    rows: run.result.statements.slice(0, TOP_STATEMENTS).map((s) => [s.context, s.sql.slice(0, 90), s.calls, s.rows, seconds(s.ms), percent(s.ms / run.result.importMs)]),
  };
}

function memoryTable(input: ReportInput): ResultTable {
  const { measured, options } = input;
  const row = (label: string, species: number, result: ImportRunResult): Cell[] => [label, formatCount(species), result.startRssMiB, result.peakRssMiB, result.maxRssMiB, result.peakHeapUsedMiB];
  const rows: Cell[][] = [row("fresh import", options.species, measured.fresh.result)];
  if (measured.resume) rows.push(row("resumed import", options.species, measured.resume.resumed.result));
  for (const other of measured.otherSizes) rows.push([`fresh import (${other.file})`, formatCount(other.species), null, other.peakRssMiB, other.maxRssMiB, null]);
  return {
    title: "Memory of the import process",
    columns: ["run", "species", "RSS at start MiB", "peak RSS MiB (sampled 100 ms)", "maxRSS MiB", "peak heap MiB"],
    rows,
  };
}

function filesTable(files: Measured["files"]): ResultTable {
  const m = files.manifest;
  return {
    title: "Synthetic official files",
    columns: ["species", "padding columns", ".npy MiB", ".json MiB", ...Object.keys(m.byRank).filter((rank) => rank !== "species"), "common names", "written"],
    rows: [[m.species, m.paddingColumns, Math.round(m.npyBytes / 2 ** 20), Math.round(m.jsonBytes / 2 ** 20), ...Object.entries(m.byRank).filter(([rank]) => rank !== "species").map(([, n]) => n), m.commonNames, files.reused ? `reused (${m.writeSeconds} s)` : `${m.writeSeconds} s`]],
    notes: [`${m.npyPath} and txt_emb_species.json beside it; seed ${m.seed}.`],
  };
}
