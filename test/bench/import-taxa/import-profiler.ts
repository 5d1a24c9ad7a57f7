import type pg from "pg";
import type { ProgressReporter } from "@arbor/store/importers/progress.ts";

/**
 * Where an import spends its time, measured from outside the importer (services/store is not
 * edited): the progress reporter gives the passes, wrapped ImportRepository methods give the
 * repository calls (nested calls keep their path, e.g. resolveStagedTaxa>insertUnmatched), and
 * wrapped client.query calls give every SQL statement with the repository call that issued it.
 * Optionally auto_explain sends the plan of every statement slower than a threshold to the client
 * as a NOTICE (EXPLAIN ANALYZE of the importer's own statements, in their own transaction state).
 */

/**
 * Connection start-up settings (a superuser may set these) that load auto_explain in every session
 * and make it send the ANALYZE plan of each statement ≥ `explainMs` to the client.
 */
export function explainSettings(explainMs: number): string[] {
  return [
    "session_preload_libraries=auto_explain",
    `auto_explain.log_min_duration=${Math.round(explainMs)}`,
    "auto_explain.log_analyze=on",
    "auto_explain.log_buffers=on",
    "auto_explain.log_level=notice",
    "client_min_messages=notice",
  ];
}

/** ImportRepository methods timed; private ones are reached through the prototype at run time. */
export const TIMED_REPOSITORY_METHODS = [
  "getCheckpoint",
  "saveCheckpoint",
  "resetImport",
  "clearStaging",
  "stageTaxa",
  "stageKeyedBatch",
  "bulkLoad",
  "findOrphans",
  "linkExternalParents",
  "resolveStagedTaxa",
  "matchReady",
  "moveUnderMoreSpecificParents",
  "insertUnmatched",
  "writeNamesAndIds",
  "refreshChildCounts",
  "mergeGinPendingLists",
  "getModelVersionIdsWithImageEmbeddings",
  "recomputePrototypes",
] as const;

export interface CallTotal {
  calls: number;
  ms: number;
}

export interface StatementTotal extends CallTotal {
  /** Repository call path that issued it, "(runner)" for BEGIN/COMMIT and the runner's own. */
  context: string;
  sql: string;
  maxMs: number;
  rows: number;
}

export interface TimelineEntry {
  context: string;
  sql: string;
  ms: number;
  rows: number | null;
}

export interface PhaseTiming {
  name: string;
  ms: number;
  /** Highest resident set size sampled during the phase (MiB). */
  peakRssMiB: number;
}

export interface PlanNotice {
  context: string;
  text: string;
}

const SQL_HEAD = 160;
const RECENT_STATEMENTS = 50;
const RSS_SAMPLE_MS = 100;

export class ImportProfiler {
  readonly calls = new Map<string, CallTotal>();
  private readonly statements = new Map<string, StatementTotal>();
  /** Every statement after the write pass (the resolution transaction), in order. */
  readonly timeline: TimelineEntry[] = [];
  readonly plans: PlanNotice[] = [];
  private readonly stack: string[] = [];
  /** The last statements issued (whitespace-collapsed text, first SQL_HEAD characters), for plan attribution. */
  private readonly recent: Array<{ context: string; sql: string }> = [];
  private readonly phases: PhaseTiming[] = [];
  private phase = { name: "hash + checkpoint lookup", start: performance.now(), peakRss: process.memoryUsage.rss() };
  private afterWritePass = false;
  private readonly sampler: NodeJS.Timeout;

  constructor() {
    this.sampler = setInterval(() => this.sampleRss(), RSS_SAMPLE_MS);
    this.sampler.unref();
  }

  /** Wraps the named methods of ImportRepository.prototype (once per process). */
  wrapRepository(prototype: object): void {
    const target = prototype as Record<string, unknown>;
    for (const name of TIMED_REPOSITORY_METHODS) {
      const original = target[name];
      if (typeof original !== "function") throw new Error(`ImportRepository has no method ${name}: update TIMED_REPOSITORY_METHODS`);
      const profiler = this;
      target[name] = async function (this: unknown, ...args: unknown[]) {
        profiler.stack.push(name);
        const path = profiler.stack.join(">");
        const start = performance.now();
        try {
          return await (original as (...a: unknown[]) => Promise<unknown>).apply(this, args);
        } finally {
          const total = profiler.calls.get(path) ?? { calls: 0, ms: 0 };
          total.calls++;
          total.ms += performance.now() - start;
          profiler.calls.set(path, total);
          profiler.stack.pop();
        }
      };
    }
  }

  /**
   * Times every statement of every client the pool hands out; collects the auto_explain plans that
   * connections opened with explainOptions() send as NOTICEs.
   */
  instrumentPool(pool: pg.Pool): void {
    pool.on("connect", (client) => {
      client.on("notice", (notice) => {
        if (notice.message?.startsWith("duration:")) this.plans.push({ context: this.planContext(notice.message), text: notice.message });
      });
      this.wrapClient(client);
    });
  }

  /** A ProgressReporter that records the check and write passes as phases. */
  progress(): ProgressReporter {
    return {
      start: (step) => this.startPhase(step.endsWith("(check)") ? "check pass (parse every row)" : "write pass (stage batches)"),
      update: () => undefined,
      stop: () => {
        if (this.phase.name.startsWith("write pass")) this.afterWritePass = true;
        this.startPhase(this.afterWritePass ? "finish (resolution transaction, prototypes)" : "between passes");
      },
    };
  }

  finish(): { phases: PhaseTiming[]; statements: StatementTotal[] } {
    clearInterval(this.sampler);
    this.startPhase("");
    return {
      phases: this.phases.filter((phase) => phase.name !== "between passes" || phase.ms > 1),
      statements: [...this.statements.values()].sort((a, b) => b.ms - a.ms),
    };
  }

  private startPhase(name: string): void {
    const now = performance.now();
    this.sampleRss();
    this.phases.push({ name: this.phase.name, ms: now - this.phase.start, peakRssMiB: Math.round(this.phase.peakRss / 2 ** 20) });
    this.phase = { name, start: now, peakRss: process.memoryUsage.rss() };
  }

  private sampleRss(): void {
    this.phase.peakRss = Math.max(this.phase.peakRss, process.memoryUsage.rss());
  }

  /**
   * The repository call that issued the statement of a plan. A plan's NOTICE can arrive after the
   * statement's promise resolved (auto_explain reports when the portal is dropped), so it is
   * matched by its query text against the latest statements rather than by the current call.
   */
  private planContext(message: string): string {
    const text = message.replace(/\s+/g, " ");
    for (let i = this.recent.length - 1; i >= 0; i--) {
      if (text.includes(this.recent[i]!.sql)) return this.recent[i]!.context;
    }
    return this.context();
  }

  private context(): string {
    return this.stack.length > 0 ? this.stack.join(">") : "(runner)";
  }

  private record(context: string, sql: string, ms: number, rows: number | null): void {
    const key = `${context}\u0000${sql}`;
    const total = this.statements.get(key) ?? { context, sql, calls: 0, ms: 0, maxMs: 0, rows: 0 };
    total.calls++;
    total.ms += ms;
    total.maxMs = Math.max(total.maxMs, ms);
    total.rows += rows ?? 0;
    this.statements.set(key, total);
    if (this.afterWritePass) this.timeline.push({ context, sql, ms, rows });
  }

  private wrapClient(client: pg.PoolClient): void {
    const original = client.query.bind(client) as (...args: unknown[]) => unknown;
    const profiler = this;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = function (config: unknown, values?: unknown, callback?: unknown) {
      // COPY streams (pg-copy-streams) are Submittables: their time shows in bulkLoad.
      if (config !== null && typeof config === "object" && typeof (config as { submit?: unknown }).submit === "function") {
        return original(config, values, callback);
      }
      const text = typeof config === "string" ? config : ((config as { text?: string }).text ?? "");
      const sql = text.replace(/\s+/g, " ").trim().slice(0, SQL_HEAD);
      const context = profiler.context();
      profiler.recent.push({ context, sql });
      if (profiler.recent.length > RECENT_STATEMENTS) profiler.recent.shift();
      const start = performance.now();
      const done = (rows: number | null) => profiler.record(context, sql, performance.now() - start, rows);
      if (typeof values === "function" || typeof callback === "function") {
        const cb = (typeof values === "function" ? values : callback) as (error: Error | null, result?: pg.QueryResult) => void;
        const wrapped = (error: Error | null, result?: pg.QueryResult) => {
          done(result?.rowCount ?? null);
          cb(error, result);
        };
        return typeof values === "function" ? original(config, wrapped) : original(config, values, wrapped);
      }
      const result = original(config, values);
      if (result && typeof (result as Promise<pg.QueryResult>).then === "function") {
        (result as Promise<pg.QueryResult>).then(
          (r) => done(r?.rowCount ?? null),
          () => done(null),
        );
      }
      return result;
    };
  }
}
