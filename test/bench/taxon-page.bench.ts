/**
 * taxon-page: the taxon page (taxon + ancestors + 20 children + traits + 12 subtree images) through
 * the GraphQL API at 50 concurrent keep-alive clients on a 1 M-taxon synthetic tree, against a
 * hand-written raw-SQL HTTP handler returning the same JSON. Goal: GraphQL ≥ 0.7 × raw-SQL
 * throughput and p99 ≤ 50 ms.
 *
 * Separate processes: the API (`node --import tsx apps/api/src/main.ts`), the raw-SQL server
 * (taxon-page/raw-server.ts), optionally the API with prototype fixes (taxon-page/prototype/),
 * and the load generator (wrk where installed, else autocannon in this process); PostgreSQL besides.
 *   npm run bench -- taxon-page [--reuse] [--quick] [--profile] [--prototype subtree-array] [--load-generator wrk|autocannon] …
 */
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { createPool } from "@arbor/store";
import { migrate } from "@arbor/store/migrate.ts";
import { BenchUsageError, formatCount } from "./lib/args.ts";
import type { Benchmark, BenchContext, BenchReport } from "./lib/benchmark.ts";
import { machineInfo, postgresInfo } from "./lib/machine.ts";
import { createDatabaseIfMissing, databaseUrl, recreateDatabase, serverUrl } from "./lib/postgres.ts";
import type { ResultTable } from "./lib/table.ts";
import { checkSameContent } from "./taxon-page/content-check.ts";
import { DatabaseActivity } from "./taxon-page/database-activity.ts";
import type { DatasetSpec } from "./taxon-page/dataset.ts";
import { defaultLoadGenerator, LOAD_GENERATORS, runLoad, type LoadGeneratorName } from "./taxon-page/load-generator.ts";
import { wrkAvailable, wrkVersion } from "./lib/wrk.ts";
import { findLoadedDataset, loadDataset, vacuumAnalyze, type LoadedDataset } from "./taxon-page/load.ts";
import { memoryLatencyNs } from "./lib/memory-latency.ts";
import { measure, type Measured } from "./taxon-page/measure.ts";
import { TAXON_PAGE_QUERY } from "./taxon-page/page.ts";
import type { ServerProcess } from "./taxon-page/processes.ts";
import { profileServer, type ServerProfile } from "./taxon-page/profiling.ts";
import { figures, GOAL_P99_MS, GOAL_RATIO, profileTables, runsTable, statementTable, summaryTable } from "./taxon-page/report.ts";
import { ANCHOR_ID, BASE_SERVER_IDS, baseServer, processKey, prototypeServer, startFor, targetOf, type ServerSpec } from "./taxon-page/servers.ts";
import { measureStatementCosts, type StatementCost } from "./taxon-page/statement-costs.ts";
import { selectBenchTaxa } from "./taxon-page/taxa.ts";

const EQUALITY_CHECKED_PAGES = 50;
/** Short unrecorded load before each measured run: reopens pooled connections, re-warms the JIT. */
const REWARM_SECONDS = 2;
/** Longest wait for the previous server's leftover statements before a measured run. */
const DRAIN_TIMEOUT_MS = 120_000;

async function ensureDataset(server: string, database: string, spec: DatasetSpec, reuse: boolean, context: BenchContext) {
  const url = databaseUrl(server, database);
  if (reuse && !(await createDatabaseIfMissing(server, database))) {
    const pool = createPool(url, 2);
    try {
      const found = await findLoadedDataset(pool, spec);
      if (found) {
        const applied = await migrate(pool);
        if (applied.length > 0) {
          // A migration may rewrite rows (a backfill): the visibility map must be set again for index-only scans.
          await context.progress.step(`migrations ${applied.join(", ")} applied: vacuum analyze`, () => vacuumAnalyze(pool));
        }
        context.progress.log(`reusing ${database} (loaded ${found.loadedAt} in ${found.loadSeconds}s)`);
        return { dataset: found, reused: true };
      }
      context.progress.log(`${database} does not hold this dataset: reloading`);
    } finally {
      await pool.end();
    }
  }
  await recreateDatabase(server, database);
  const pool = createPool(url, 2);
  try {
    return { dataset: await loadDataset(pool, spec, context.progress), reused: false };
  } finally {
    await pool.end();
  }
}

/** `--servers a,b` (base servers) plus one prototype variant per `;`-separated `--prototype` patch list. */
function parseServers(serversText: string, prototypeText: string): ServerSpec[] {
  const specs: ServerSpec[] = [];
  for (const id of serversText.split(",").map((part) => part.trim()).filter(Boolean)) {
    const spec = baseServer(id);
    if (!spec) throw new BenchUsageError(`--servers: unknown server '${id}'; known: ${BASE_SERVER_IDS.join(", ")}`);
    specs.push(spec);
  }
  if (!specs.some((spec) => spec.id === ANCHOR_ID)) throw new BenchUsageError(`--servers must include ${ANCHOR_ID}, the anchor of every ratio`);
  for (const patches of prototypeText.split(";").map((part) => part.trim()).filter(Boolean)) specs.push(prototypeServer(patches));
  return specs;
}

async function run(context: BenchContext): Promise<BenchReport> {
  const { args, quick, progress } = context;
  const taxa = args.count("taxa", quick ? 100_000 : 1_000_000);
  const spec: DatasetSpec = { taxa, images: args.count("images", Math.round(taxa / 10)), seed: args.count("seed", 42), traitSpeciesShare: 0.1 };
  const reuse = args.flag("reuse");
  const generator = args.string("load-generator", defaultLoadGenerator());
  if (!LOAD_GENERATORS.includes(generator as LoadGeneratorName)) throw new BenchUsageError(`--load-generator must be one of ${LOAD_GENERATORS.join(", ")}`);
  if (generator === "wrk" && !wrkAvailable()) throw new BenchUsageError("--load-generator wrk: wrk is not installed (apt-get install wrk)");
  const connections = args.count("connections", 50);
  const durationSeconds = args.count("duration", quick ? 5 : 20);
  const warmupSeconds = args.count("warmup", quick ? 2 : 5);
  const repetitions = Math.max(1, args.count("repeats", quick ? 1 : 3));
  const poolSize = args.count("pool", 10);
  const sample = args.count("sample", 1000);
  const profile = args.flag("profile");
  const statementCosts = !args.flag("no-statement-costs");
  const prototypeText = args.string("prototype", "");
  const specs = parseServers(args.string("servers", "graphql,raw-sql,raw-sql-json"), prototypeText);
  const database = args.string("database", `arbor_bench_taxa_${formatCount(taxa)}`);

  const server = serverUrl((line) => progress.log(line));
  const url = databaseUrl(server, database);
  const { dataset, reused } = await ensureDataset(server, database, spec, reuse, context);

  const monitor = new pg.Pool({ connectionString: url, max: 1 });
  const activity = new DatabaseActivity(monitor, database);
  const processes = new Map<string, ServerProcess>();
  const processOf = (spec: ServerSpec) => processes.get(processKey(spec))!;
  const measured: Measured[] = [];
  const profiles: ServerProfile[] = [];
  const settings = { databaseUrl: url, poolSize };
  let checkedPages = 0;
  let costs: StatementCost[] = [];
  let drainWaits: number[] = [];
  let postgres;
  let selection;
  try {
    postgres = await postgresInfo(monitor);
    selection = await selectBenchTaxa(monitor, sample, spec.seed);
    progress.log(
      `${selection.ids.length} benchmark genera (of ${selection.candidates} qualifying): mean ${selection.meanChildren.toFixed(1)} children, ` +
        `${selection.meanSubtreeImages.toFixed(1)} subtree images, ${selection.meanTraits.toFixed(1)} traits`,
    );
    const load = { generator: generator as LoadGeneratorName, connections, durationSeconds, ids: selection.ids };
    if (statementCosts) costs = await progress.step("cost of each SQL statement alone", () => measureStatementCosts(url, selection!.ids));

    for (const spec of specs) {
      if (!processes.has(processKey(spec))) processes.set(processKey(spec), await progress.step(`start ${spec.id}`, () => startFor(spec, settings)));
    }
    const targets = new Map(specs.map((spec) => [spec.id, targetOf(spec, processOf(spec))]));
    checkedPages = await progress.step("check equal JSON content", () =>
      checkSameContent([...targets.values()], [...selection!.ids.slice(0, EQUALITY_CHECKED_PAGES), taxa + 1]),
    );
    progress.log(`${checkedPages} pages (one of a missing taxon) identical across ${specs.map((spec) => spec.id).join(", ")}`);

    for (const spec of specs) {
      await progress.step(`warm up ${spec.id} (${warmupSeconds}s)`, () => runLoad(targets.get(spec.id)!, { ...load, durationSeconds: warmupSeconds }));
      await activity.waitUntilIdle(DRAIN_TIMEOUT_MS);
    }

    // Alternating repetitions: even ones run the servers in reverse order.
    drainWaits = [];
    for (let rep = 1; rep <= repetitions; rep++) {
      for (const spec of rep % 2 === 1 ? specs : [...specs].reverse()) {
        const target = targets.get(spec.id)!;
        // Before the re-warm: the probe sweeps 128 MiB through the caches the server is about to use.
        const memoryLatency = memoryLatencyNs();
        if (warmupSeconds > 0) await runLoad(target, { ...load, durationSeconds: REWARM_SECONDS });
        const drain = await activity.waitUntilIdle(DRAIN_TIMEOUT_MS);
        drainWaits.push(drain.waitedMs);
        if (drain.waitedMs > 1000) progress.log(`waited ${(drain.waitedMs / 1000).toFixed(1)}s for leftover statements to finish${drain.idle ? "" : " (gave up)"}`);
        const m: Measured = { ...(await measure(spec.id, processOf(spec), target, rep, load, activity)), memoryLatencyNs: memoryLatency };
        measured.push(m);
        progress.log(
          `rep ${rep} ${spec.id}: ${m.rps.toFixed(0)} req/s, p50 ${m.p50.toFixed(1)} ms, p99 ${m.p99.toFixed(1)} ms, failed ${m.errors + m.non2xx + m.invalidBodies}, ` +
            `CPU ms/req server ${m.serverCpuMsPerRequest.toFixed(3)} postgres ${m.postgresCpuMsPerRequest.toFixed(3)}, machine busy ${(100 * m.machineBusy).toFixed(0)}%, memory ${memoryLatency.toFixed(0)} ns/read before`,
        );
        if (m.firstInvalidBody) progress.log(`  first invalid body: ${m.firstInvalidBody}`);
      }
    }

    // CPU profiles under the same load, one server at a time (the others stopped first).
    if (profile) {
      for (const s of processes.values()) await s.stop();
      processes.clear();
      const dir = join(tmpdir(), "arbor-bench-profiles", `taxon-page-${new Date().toISOString().replace(/[:.]/g, "-")}`);
      mkdirSync(dir, { recursive: true });
      for (const spec of specs.filter((s) => s.kind !== "raw-sql-json")) {
        profiles.push(await profileServer(spec, settings, { ...load, warmupSeconds }, activity, dir, progress));
        await activity.waitUntilIdle(DRAIN_TIMEOUT_MS);
      }
    }
  } catch (error) {
    for (const s of processes.values()) progress.log(`${s.name} stderr (tail):\n${s.stderrTail()}`);
    throw error;
  } finally {
    for (const s of processes.values()) await s.stop();
    await monitor.end();
  }

  const f = figures(measured, specs, repetitions);
  const tables: ResultTable[] = [
    summaryTable(specs, f, `Taxon page at ${connections} concurrent clients, ${formatCount(taxa)} taxa (median of ${repetitions} × ${durationSeconds}s)`),
    runsTable(measured),
    ...(costs.length > 0 ? [statementTable(costs)] : []),
    ...profiles.flatMap(profileTables),
  ];
  const failed = measured.reduce((sum, m) => sum + m.errors + m.non2xx + m.invalidBodies, 0);
  const graphql = f.graphql;
  return {
    variant: quick ? undefined : formatCount(taxa),
    parameters: {
      dataset: { ...spec, database, reused, names: dataset.names, traits: dataset.traits, loadSeconds: dataset.loadSeconds, loadedAt: dataset.loadedAt },
      benchTaxa: { ...selection, ids: undefined, sample: selection.ids.length, firstIds: selection.ids.slice(0, 10) },
      query: TAXON_PAGE_QUERY,
      servers: specs,
      connections,
      durationSeconds,
      warmupSeconds,
      rewarmSeconds: warmupSeconds > 0 ? REWARM_SECONDS : 0,
      repetitions,
      dbPoolSize: poolSize,
      nodeEnv: "production",
      loadGenerator:
        generator === "wrk"
          ? `${wrkVersion()}, 1 thread, its own process; closed loop, keep-alive, 10 s timeout, 127.0.0.1; every 200 body checked by a Lua hook`
          : "autocannon 9.0.0 in the benchmark process, closed loop, keep-alive, pipelining 1, 10 s timeout, 127.0.0.1",
      equalityCheckedPages: checkedPages,
    },
    postgres,
    tables,
    figures: {
      goal: {
        ratio: GOAL_RATIO,
        p99Ms: GOAL_P99_MS,
        throughputMet: graphql ? graphql.ratio >= GOAL_RATIO : null,
        p99Met: graphql ? graphql.p99 <= GOAL_P99_MS : null,
      },
      servers: f,
      runs: measured.map(({ firstInvalidBody: _body, ...m }) => m),
      failed,
      statementCosts: costs,
      drainWaitsMs: drainWaits.map(Math.round),
      profiles: profiles.map((p) => ({ server: p.server, path: p.path, run: { ...p.run, firstInvalidBody: undefined }, inclusive: p.inclusive, ...p.summary })),
    },
    notes: [
      `This machine has ${machineInfo().cores} cores, shared by PostgreSQL, every server process and the load generator (and whatever else runs): the figures measure the whole stack on 2 cores, not one server alone.`,
      "Benchmark taxa: genera with ≥ 20 species, ≥ 12 images in their subtree and traits (seeded sample, walked in seeded order); every page is full (5 ancestors, 20 children, 12 images).",
      `Equal JSON content of all servers checked on ${checkedPages} pages before measuring.`,
      ...(failed > 0 ? [`${failed} failed or invalid responses during measured runs (see the runs table).`] : []),
    ],
  };
}

const benchmark: Benchmark = {
  name: "taxon-page",
  description: "Taxon page through GraphQL vs. a hand-written raw-SQL HTTP handler at 50 concurrent clients on a 1 M-taxon synthetic tree",
  options: [
    "--reuse             keep the loaded database when it holds the same dataset (default: reload)",
    "--taxa N            tree size (default 1m; --quick 100k)",
    "--images N          images on species (default taxa / 10)",
    "--seed N            dataset and sample seed (default 42)",
    "--connections N     concurrent keep-alive clients (default 50)",
    "--load-generator G  wrk (default where installed: apt-get install wrk) or autocannon (in this process)",
    "--duration S        seconds per measured run (default 20; --quick 5)",
    "--warmup S          warm-up seconds per server (default 5; --quick 2)",
    "--repeats N         alternating repetitions (default 3; --quick 1)",
    "--pool N            pg pool size of every server (default 10, the API's default)",
    "--sample N          benchmark taxa (default 1000)",
    `--servers LIST      of ${BASE_SERVER_IDS.join(", ")} (default all; raw-sql required: it anchors every ratio)`,
    "--prototype 'A;B'   also run the API with prototype fixes (taxon-page/prototype/api-main.ts), one process per ';'-separated",
    "                    variant of ','-separated patches: subtree-array, no-cache-control, complexity-cache, lean-graphql,",
    "                    semi-space-N (a young generation of N MB semi-spaces: Node's default is 16, the API's 64),",
    "                    single-threaded-gc, no-pretenuring (--no-allocation-site-pretenuring), cluster-2 (two API processes)",
    "--no-statement-costs  skip timing each SQL statement alone before the load runs",
    "--profile           afterwards, profile each server under the same load with --cpu-prof and report where its CPU goes",
    "--database NAME     database (default arbor_bench_taxa_<taxa>)",
  ],
  run,
};

export default benchmark;
