import { median } from "../lib/stats.ts";
import type { ResultTable } from "../lib/table.ts";
import type { Measured } from "./measure.ts";
import type { ServerProfile } from "./profiling.ts";
import { SOCKET_WRITES } from "./profile.ts";
import { ANCHOR_ID, type ServerSpec } from "./servers.ts";
import type { StatementCost } from "./statement-costs.ts";

export const GOAL_RATIO = 0.7;
export const GOAL_P99_MS = 50;

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;
const failures = (m: Measured) => m.errors + m.non2xx + m.invalidBodies;
/** CPU of everything one answered request costs on the machine: server, PostgreSQL, load generator. */
const totalCpu = (m: Measured) => m.serverCpuMsPerRequest + m.postgresCpuMsPerRequest + m.loadGeneratorCpuMsPerRequest;

export interface ServerFigures {
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  serverCpuMsPerRequest: number;
  postgresCpuMsPerRequest: number;
  loadGeneratorCpuMsPerRequest: number;
  totalCpuMsPerRequest: number;
  /** Median over repetitions of rps ÷ the anchor's rps in the same repetition. */
  ratio: number;
  ratios: number[];
  /**
   * Anchor's total CPU per request ÷ this server's: the throughput ratio to expect when the
   * stack alone saturates the cores. Steadier than `ratio` when other work shares the machine.
   */
  cpuRatio: number;
  failed: number;
}

export function figures(measured: readonly Measured[], specs: readonly ServerSpec[], repetitions: number): Record<string, ServerFigures> {
  const of = (id: string) => measured.filter((m) => m.server === id);
  const run = (id: string, rep: number) => measured.find((m) => m.server === id && m.repetition === rep)!;
  const out: Record<string, ServerFigures> = {};
  for (const spec of specs) {
    const runs = of(spec.id);
    const med = (pick: (m: Measured) => number) => median(runs.map(pick));
    const ratios = Array.from({ length: repetitions }, (_, i) => run(spec.id, i + 1).rps / run(ANCHOR_ID, i + 1).rps);
    const cpuRatios = Array.from({ length: repetitions }, (_, i) => totalCpu(run(ANCHOR_ID, i + 1)) / totalCpu(run(spec.id, i + 1)));
    out[spec.id] = {
      rps: med((m) => m.rps),
      p50: med((m) => m.p50),
      p90: med((m) => m.p90),
      p99: med((m) => m.p99),
      serverCpuMsPerRequest: med((m) => m.serverCpuMsPerRequest),
      postgresCpuMsPerRequest: med((m) => m.postgresCpuMsPerRequest),
      loadGeneratorCpuMsPerRequest: med((m) => m.loadGeneratorCpuMsPerRequest),
      totalCpuMsPerRequest: med(totalCpu),
      ratio: median(ratios),
      ratios,
      cpuRatio: median(cpuRatios),
      failed: runs.reduce((sum, m) => sum + failures(m), 0),
    };
  }
  return out;
}

export function summaryTable(specs: readonly ServerSpec[], f: Record<string, ServerFigures>, title: string): ResultTable {
  const notes: string[] = [];
  for (const spec of specs) {
    if (spec.kind !== "graphql" && spec.kind !== "graphql-prototype") continue;
    const s = f[spec.id]!;
    notes.push(
      `${spec.id}: throughput ${round(s.ratio, 3)} × raw SQL (goal ≥ ${GOAL_RATIO}: ${s.ratio >= GOAL_RATIO ? "met" : "NOT met"}; per repetition ${s.ratios.map((r) => round(r, 3)).join(", ")}), ` +
        `CPU-bound estimate ${round(s.cpuRatio, 3)}; p99 ${round(s.p99, 1)} ms (goal ≤ ${GOAL_P99_MS} ms: ${s.p99 <= GOAL_P99_MS ? "met" : "NOT met"}).`,
    );
  }
  notes.push(
    "× raw SQL: median over repetitions of req/s ÷ raw-SQL req/s in the same repetition. CPU-bound ×: raw SQL's total CPU per request ÷ this server's (server + postgres + load generator), the ratio to expect when this stack alone saturates the cores.",
    "CPU ms/req from /proc: server = its process; postgres = the backends connected to the benchmark database; load generator = this process.",
  );
  return {
    title,
    columns: ["server", "req/s", "p50 ms", "p90 ms", "p99 ms", "failed", "server CPU ms/req", "postgres CPU ms/req", "total CPU ms/req", "× raw SQL", "CPU-bound ×"],
    rows: specs.map((spec) => {
      const s = f[spec.id]!;
      return [
        spec.label,
        round(s.rps, 0),
        round(s.p50, 1),
        round(s.p90, 1),
        round(s.p99, 1),
        s.failed,
        round(s.serverCpuMsPerRequest, 3),
        round(s.postgresCpuMsPerRequest, 3),
        round(s.totalCpuMsPerRequest, 3),
        round(s.ratio, 3),
        round(s.cpuRatio, 3),
      ];
    }),
    notes,
  };
}

export function runsTable(measured: readonly Measured[]): ResultTable {
  return {
    title: "Every measured run (in order)",
    columns: ["rep", "server", "req/s", "p50 ms", "p99 ms", "max ms", "requests", "failed", "server CPU ms/req", "postgres CPU ms/req", "load-gen CPU ms/req", "machine busy %", "memory ns/read before"],
    rows: measured.map((m) => [
      m.repetition,
      m.server,
      round(m.rps, 0),
      round(m.p50, 1),
      round(m.p99, 1),
      round(m.max, 0),
      m.requests,
      failures(m),
      round(m.serverCpuMsPerRequest, 3),
      round(m.postgresCpuMsPerRequest, 3),
      round(m.loadGeneratorCpuMsPerRequest, 3),
      round(100 * m.machineBusy, 0),
      m.memoryLatencyNs === undefined ? "–" : round(m.memoryLatencyNs, 0),
    ]),
    notes: [
      "failed = connection errors and timeouts + non-2xx + 200 responses that were not a page (GraphQL errors).",
      "memory ns/read before: the machine's state just before the run, ns per dependent read at random over 128 MiB (test/bench/lib/memory-latency.ts); CPU per request rises with it.",
    ],
  };
}

/**
 * Component shares of the profile turned into µs per request: socket writes get the measured
 * system CPU time, every other component its share of the remaining samples times the measured
 * user CPU time (the writev share is inflated by descheduling; see profile.ts).
 */
export function profileTables(p: ServerProfile): ResultTable[] {
  const userUs = 1000 * (p.run.serverCpuMsPerRequest - p.run.serverSystemCpuMsPerRequest);
  const systemUs = 1000 * p.run.serverSystemCpuMsPerRequest;
  const writes = p.summary.components.find((c) => c.component === SOCKET_WRITES)?.samples ?? 0;
  const others = Math.max(1, p.summary.busySamples - writes);
  const usOf = (component: string, samples: number) => (component === SOCKET_WRITES ? systemUs : (samples / others) * userUs);
  return [
    {
      title:
        `Where ${p.server}'s CPU goes (${round(p.run.rps, 0)} req/s under the profiler; CPU/request ${round(userUs, 0)} µs user + ` +
        `${round(systemUs, 0)} µs system)`,
      columns: ["component (self time)", "% of samples", "% of samples excl. socket writes", "µs/request"],
      rows: p.summary.components
        .filter((c) => c.share >= 0.005)
        .map((c) => [c.component, round(100 * c.share, 1), c.component === SOCKET_WRITES ? null : round((100 * c.samples) / others, 1), round(usOf(c.component, c.samples), 0)]),
      notes: [
        "µs/request: socket writes = the process's system CPU per request; every other component = its share of the samples excluding socket writes × user CPU per request.",
        `${p.summary.busySamples} busy samples of ${p.summary.samples} in the measured window; profile ${p.path}`,
        ...Object.entries(p.inclusive).map(([name, share]) => `inclusive ${name}: ${round(100 * share, 1)} % of samples ≈ ${round((share * p.summary.busySamples * userUs) / others, 0)} µs/request`),
      ],
    },
    {
      title: `Hottest functions of ${p.server} (self samples)`,
      columns: ["function", "where", "component", "% of samples", "µs/request"],
      rows: p.summary.hotFunctions.map((f) => [f.name, f.where, f.component, round(100 * f.share, 1), round(f.component === SOCKET_WRITES ? systemUs : (f.samples / others) * userUs, 0)]),
    },
  ];
}

export function statementTable(costs: readonly StatementCost[]): ResultTable {
  const sum = (origin: StatementCost["origin"], pick: (c: StatementCost) => number, skip?: string) =>
    costs.filter((c) => c.origin === origin && !(skip && c.statement.startsWith(skip))).reduce((total, c) => total + pick(c), 0);
  return {
    title: "Each SQL statement of the page alone (one connection, sequential calls over the benchmark taxa)",
    columns: ["origin", "statement", "calls", "rows", "wall ms", "backend CPU ms", "Node CPU ms"],
    rows: costs.map((c) => [c.origin, c.statement, c.calls, round(c.rows, 1), round(c.wallMs, 3), round(c.backendCpuMs, 3), round(c.clientCpuMs, 3)]),
    notes: [
      `API page through the loaders (5 statements): backend CPU ${round(sum("API", (c) => c.backendCpuMs), 3)} ms; ` +
        `with the look-ahead (1 statement, what the benchmark's query takes): ${round(sum("API look-ahead", (c) => c.backendCpuMs), 3)} ms; with the prototype image statement ` +
        `${round(sum("API", (c) => c.backendCpuMs, "images") + sum("prototype", (c) => c.backendCpuMs), 3)} ms; raw handler (5 statements) ` +
        `${round(sum("raw SQL", (c) => c.backendCpuMs, "whole page"), 3)} ms.`,
      "Backend CPU from /proc (10 ms ticks over all calls); Node CPU = this process (pg wire protocol and row parsing) per call.",
    ],
  };
}
