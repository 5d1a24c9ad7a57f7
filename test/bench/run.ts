/**
 * Benchmark runner: `npm run bench -- <name> [--quick] [options]` runs test/bench/<name>.bench.ts,
 * prints its tables on stdout and writes bench-results/<name>[.<variant>].json plus a dated copy
 * under bench-results/history/. `--quick` results go to a temporary folder instead (smoke runs are
 * not results); `--out DIR` chooses the folder.
 */
import { readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { BenchArgs, BenchUsageError } from "./lib/args.ts";
import type { Benchmark } from "./lib/benchmark.ts";
import { loadAverage, machineInfo } from "./lib/machine.ts";
import { Progress } from "./lib/progress.ts";
import { RESULTS_DIR, writeResultFiles } from "./lib/results.ts";
import { renderTable } from "./lib/table.ts";

const BENCH_DIR = fileURLToPath(new URL(".", import.meta.url));

function available(): string[] {
  return readdirSync(BENCH_DIR)
    .filter((file) => file.endsWith(".bench.ts"))
    .map((file) => file.slice(0, -".bench.ts".length))
    .sort();
}

async function loadBenchmark(name: string): Promise<Benchmark> {
  if (!available().includes(name)) {
    throw new BenchUsageError(`unknown benchmark '${name}'; available: ${available().join(", ") || "none"}`);
  }
  const module = (await import(pathToFileURL(join(BENCH_DIR, `${name}.bench.ts`)).href)) as { default?: Benchmark };
  if (!module.default || typeof module.default.run !== "function") {
    throw new Error(`test/bench/${name}.bench.ts must export a Benchmark as default`);
  }
  return module.default;
}

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h") {
    process.stdout.write(`usage: npm run bench -- <name> [--quick] [--out DIR] [options]\nbenchmarks: ${available().join(", ")}\n`);
    return;
  }
  const benchmark = await loadBenchmark(name);
  const args = new BenchArgs(rest);
  if (args.flag("help")) {
    process.stdout.write(`${benchmark.name}: ${benchmark.description}\noptions:\n${benchmark.options.map((line) => `  ${line}`).join("\n")}\n`);
    return;
  }
  const quick = args.flag("quick");
  const outDir = args.string("out", quick ? join(tmpdir(), "arbor-bench") : RESULTS_DIR);
  const progress = new Progress(name);

  const startedAt = new Date();
  const loadAtStart = loadAverage();
  progress.log(`start; load average ${loadAtStart.join(" ")} on ${machineInfo().cores} cores`);
  const report = await benchmark.run({ args, quick, progress });
  const unknown = args.unknown();
  if (unknown.length > 0) progress.log(`warning: options not used by ${name}: ${unknown.map((key) => `--${key}`).join(" ")}`);
  const finishedAt = new Date();
  const loadAtEnd = loadAverage();

  const result = {
    benchmark: benchmark.name,
    description: benchmark.description,
    variant: report.variant ?? null,
    quick,
    date: startedAt.toISOString(),
    durationSeconds: Math.round((finishedAt.getTime() - startedAt.getTime()) / 100) / 10,
    command: `npm run bench -- ${argv.join(" ")}`,
    machine: machineInfo(),
    // Other sessions may share this machine: a high load average means timings are pessimistic.
    loadAverage: { start: loadAtStart, end: loadAtEnd },
    postgres: report.postgres ?? null,
    parameters: report.parameters,
    tables: report.tables,
    figures: report.figures,
    notes: report.notes ?? [],
  };
  const file = report.variant ? `${benchmark.name}.${report.variant}` : benchmark.name;
  const paths = writeResultFiles(outDir, file, result, startedAt);

  const machine = result.machine;
  const header = [
    `## ${benchmark.name}${report.variant ? ` (${report.variant})` : ""}${quick ? " — quick smoke run" : ""}`,
    "",
    `${startedAt.toISOString()} · ${machine.cpuModel} × ${machine.cores} · ${machine.memoryGiB} GiB · Node ${machine.node}` +
      (report.postgres ? ` · PostgreSQL ${report.postgres.version} + pgvector ${report.postgres.pgvector}` : ""),
    `load average at start ${loadAtStart.join(" ")}, at end ${loadAtEnd.join(" ")}`,
  ];
  const body = report.tables.map(renderTable);
  const notes = report.notes?.length ? ["", ...report.notes.map((note) => `- ${note}`)] : [];
  process.stdout.write(`${[...header, "", body.join("\n\n"), ...notes].join("\n")}\n`);
  progress.log(`results written to ${paths.latest} and ${paths.dated}`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof BenchUsageError) {
    process.stderr.write(`bench: ${error.message}\n`);
    process.exitCode = 2;
    return;
  }
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
