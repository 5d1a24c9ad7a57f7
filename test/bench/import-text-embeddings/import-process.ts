/**
 * One run of the official text-embedding import in its own process (so that its peak RSS is its
 * own, and so that it can be killed part-way), called the way the job worker's handler calls it:
 * importTextEmbeddings({pool, log, progress, npyPath, jsonPath, model, batchSize, maxErrors: 0,
 * force: false}) on createPool(url, 2). Timed from outside (import-taxa's ImportProfiler: passes,
 * repository calls, SQL statements, RSS sampled every 100 ms). Prints a progress line on stderr every
 * few seconds and writes a JSON ImportRunResult to the path given.
 *   node --import tsx test/bench/import-text-embeddings/import-process.ts '<ImportRunRequest JSON>'
 */
import { writeFileSync } from "node:fs";
import { createPool } from "@arbor/store/db.ts";
import type { ProgressReporter } from "@arbor/store/importers/progress.ts";
import { createLogger } from "@arbor/store/logger.ts";
import { ImportRepository } from "@arbor/store/repositories/import.repository.ts";
import { importTextEmbeddings } from "@arbor/training/services/import-text-embeddings.service.ts";
import { ImportProfiler, type CallTotal, type PhaseTiming, type StatementTotal } from "../import-taxa/import-profiler.ts";
import { childMain } from "../lib/child-run.ts";
import { startUsageMeter, type ProcessUsage } from "../lib/process-usage.ts";

export interface ImportRunRequest {
  databaseUrl: string;
  npyPath: string;
  jsonPath: string;
  model: string;
  batchSize?: number;
  resultPath: string;
}

export interface ImportRunResult extends ProcessUsage {
  alreadyDone: boolean;
  resumedFrom: number;
  rows: number;
  badRows: number;
  stats: Record<string, number>;
  /** importTextEmbeddings() wall time, measured here (excludes process start-up). */
  importMs: number;
  /** Highest RSS sampled every 100 ms during the import, MiB. */
  peakRssMiB: number;
  phases: PhaseTiming[];
  calls: Array<CallTotal & { path: string }>;
  statements: StatementTotal[];
}

const STATEMENTS_KEPT = 15;
const PROGRESS_EVERY_MS = 10_000;

async function main(request: ImportRunRequest): Promise<void> {
  const profiler = new ImportProfiler();
  profiler.wrapRepository(ImportRepository.prototype);
  const pool = createPool(request.databaseUrl, 2);
  profiler.instrumentPool(pool);
  const log = createLogger("import-text-embeddings", process.env.LOG_LEVEL ?? "warn");
  const usage = startUsageMeter();
  const start = performance.now();
  try {
    const outcome = await importTextEmbeddings({
      pool,
      log,
      progress: both(profiler.progress(), progressLines()),
      npyPath: request.npyPath,
      jsonPath: request.jsonPath,
      model: request.model,
      batchSize: request.batchSize,
      maxErrors: 0,
      force: false,
    });
    const importMs = performance.now() - start;
    const used = usage.stop();
    const { phases, statements } = profiler.finish();
    const result: ImportRunResult = {
      alreadyDone: outcome.alreadyDone,
      resumedFrom: outcome.resumedFrom,
      rows: outcome.rows,
      badRows: outcome.badRows.length,
      stats: outcome.stats,
      importMs,
      ...used,
      peakRssMiB: Math.max(...phases.map((phase) => phase.peakRssMiB)),
      phases,
      calls: [...profiler.calls.entries()].map(([path, total]) => ({ path, ...total })),
      statements: statements.slice(0, STATEMENTS_KEPT),
    };
    writeFileSync(request.resultPath, JSON.stringify(result));
  } finally {
    usage.stop();
    await pool.end();
  }
}

function both(a: ProgressReporter, b: ProgressReporter): ProgressReporter {
  return {
    start: (step, total) => (a.start(step, total), b.start(step, total)),
    update: (done) => (a.update(done), b.update(done)),
    stop: () => (a.stop(), b.stop()),
  };
}

/** "check pass: 40,000/100,000 rows, 2,100 rows/s, RSS 180 MiB" on stderr every few seconds (the parent forwards it). */
function progressLines(): ProgressReporter {
  let step = "";
  let total = 0;
  let done = 0;
  let first = -1;
  let started = 0;
  let lastLine = 0;
  const line = () => {
    const seconds = (performance.now() - started) / 1000;
    const of = total > 0 ? `/${total.toLocaleString("en-US")}` : "";
    process.stderr.write(`${step}: ${done.toLocaleString("en-US")}${of} rows, ${Math.round((done - first) / Math.max(seconds, 1e-3)).toLocaleString("en-US")} rows/s, RSS ${Math.round(process.memoryUsage.rss() / 2 ** 20)} MiB\n`);
  };
  return {
    start(name, size) {
      step = name.endsWith("(check)") ? "check pass" : "write pass";
      total = size;
      done = 0;
      // The write pass's first update is its checkpoint (0, or where a resumed run starts).
      first = step === "write pass" ? -1 : 0;
      started = lastLine = performance.now();
    },
    update(value) {
      if (first < 0) first = value;
      done = value;
      if (performance.now() - lastLine >= PROGRESS_EVERY_MS) {
        lastLine = performance.now();
        line();
      }
    },
    stop: line,
  };
}

childMain<ImportRunRequest>("import-process.ts '<ImportRunRequest JSON>'", main);
