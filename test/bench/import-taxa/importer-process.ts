/**
 * One run of the store's real taxonomy importer in its own process (so that its peak RSS is its
 * own), called the way `npm run import -- taxa-… <csv>` calls it: createPool(url, 2), importTaxa
 * with the CLI's options. Instrumented from outside (import-profiler.ts). Writes a JSON
 * ImporterRunResult to the path given.
 *   node --import tsx test/bench/import-taxa/importer-process.ts '<ImporterRunRequest JSON>'
 */
import { writeFileSync } from "node:fs";
import { createPool } from "@arbor/store/db.ts";
import { importTaxa, type TaxaKind } from "@arbor/store/importers/taxa.importer.ts";
import { createLogger } from "@arbor/store/logger.ts";
import { ImportRepository } from "@arbor/store/repositories/import.repository.ts";
import { explainSettings, ImportProfiler, type CallTotal, type PhaseTiming, type PlanNotice, type StatementTotal, type TimelineEntry } from "./import-profiler.ts";
import { applyPrototypes, prototypeConnectionSettings, prototypeStatementHooks } from "./prototype/index.ts";
import { installStatementHooks } from "./prototype/statement-hooks.ts";
import { childMain } from "../lib/child-run.ts";
import { startUsageMeter, type ProcessUsage } from "../lib/process-usage.ts";

export interface ImporterRunRequest {
  databaseUrl: string;
  kind: TaxaKind;
  path: string;
  force: boolean;
  source?: string;
  /** auto_explain (ANALYZE) plans of statements slower than this, or none. */
  explainMs?: number;
  /** Prototype fixes (prototype/index.ts) patched into ImportRepository for this run. */
  prototypes?: string[];
  resultPath: string;
}

export interface ImporterRunResult extends ProcessUsage {
  kind: TaxaKind;
  rows: number;
  badRows: number;
  alreadyDone: boolean;
  stats: Record<string, number>;
  /** importTaxa() wall time, measured here (excludes process start-up). */
  importMs: number;
  /** The importer's own `seconds`. */
  importerSeconds: number;
  phases: PhaseTiming[];
  calls: Array<CallTotal & { path: string }>;
  statements: StatementTotal[];
  timeline: TimelineEntry[];
  plans: PlanNotice[];
}

async function main(request: ImporterRunRequest): Promise<void> {
  const profiler = new ImportProfiler();
  // Patched first, so that the profiler times the patched methods.
  applyPrototypes(request.prototypes ?? [], ImportRepository.prototype);
  profiler.wrapRepository(ImportRepository.prototype);
  const url = new URL(request.databaseUrl);
  const settings = [...(request.explainMs !== undefined ? explainSettings(request.explainMs) : []), ...prototypeConnectionSettings(request.prototypes ?? [])];
  if (settings.length > 0) url.searchParams.set("options", settings.map((setting) => `-c ${setting}`).join(" "));
  const pool = createPool(url.toString(), 2);
  profiler.instrumentPool(pool);
  installStatementHooks(pool, prototypeStatementHooks(request.prototypes ?? []));
  const log = createLogger("import", process.env.LOG_LEVEL ?? "warn");
  const usage = startUsageMeter();
  const start = performance.now();
  try {
    const outcome = await importTaxa(request.kind, request.path, {
      pool,
      log,
      progress: profiler.progress(),
      maxErrors: 0,
      force: request.force,
      source: request.source,
      prototypes: true,
    });
    const importMs = performance.now() - start;
    const used = usage.stop();
    const { phases, statements } = profiler.finish();
    const result: ImporterRunResult = {
      kind: request.kind,
      rows: outcome.rows,
      badRows: outcome.badRows.length,
      alreadyDone: outcome.alreadyDone,
      stats: outcome.stats,
      importMs,
      importerSeconds: outcome.seconds,
      ...used,
      phases,
      calls: [...profiler.calls.entries()].map(([path, total]) => ({ path, ...total })),
      statements,
      timeline: profiler.timeline,
      plans: profiler.plans,
    };
    writeFileSync(request.resultPath, JSON.stringify(result));
  } finally {
    usage.stop();
    await pool.end();
  }
}

childMain<ImporterRunRequest>("importer-process.ts '<ImporterRunRequest JSON>'", main);
