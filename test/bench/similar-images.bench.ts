/**
 * similar-images: ImageRepository.findSimilar (pgvector HNSW, cosine) on clustered synthetic 768-d
 * embeddings shaped like BioCLIP 2's, against exact search in the same run. See README.md.
 */
import os from "node:os";
import pg from "pg";
import { createPool, type Pool } from "@arbor/store/db.ts";
import { ImageRepository } from "@arbor/store/repositories/image.repository.ts";
import { formatCount } from "./lib/args.ts";
import type { Benchmark, BenchContext, BenchReport } from "./lib/benchmark.ts";
import { postgresInfo } from "./lib/machine.ts";
import { createDatabaseIfMissing, databaseUrl, recreateDatabase, serverUrl } from "./lib/postgres.ts";
import { Random } from "./lib/prng.ts";
import type { Cell, ResultTable } from "./lib/table.ts";
import { datasetSpec, fingerprint } from "./similar-images/dataset.ts";
import { EmbeddingGenerator } from "./similar-images/embeddings.ts";
import { RANKS } from "./similar-images/geometry.ts";
import { exactGroundTruth, type QueryGroup } from "./similar-images/ground-truth.ts";
import { buildIndex, type IndexBuild, type IndexKind, indexExists, indexDefinition, previousBuild } from "./similar-images/indexes.ts";
import { ensureStateTables, findLoadedDataset, loadDataset } from "./similar-images/load.ts";
import { exactSearch, firstPlan, halfvecSearch, measureSearch, type SearchRun, storeSearch } from "./similar-images/searches.ts";
import { SyntheticTaxonomy } from "./similar-images/taxonomy.ts";

const STREAM_QUERIES = 20;
const STREAM_SUBTREE_QUERIES = 21;
const GOAL = { rows: 1_000_000, recall: 0.95, p50Ms: 10 };

interface Options {
  rows: number;
  seed: number;
  k: number;
  queries: number;
  efSearch: number[];
  repeats: number;
  warmup: number;
  exactQueries: number;
  filteredQueries: number;
  filteredMeasured: number;
  filteredRepeats: number;
  filteredEfSearch: number[];
  filterShares: number[];
  reuse: boolean;
  rebuildIndexes: boolean;
  serialBuild: boolean;
  halfvec: boolean;
  maintenanceWorkMem: string;
  threads: number;
  database: string;
  groundTruthOnly: boolean;
}

function readOptions({ args, quick }: BenchContext): Options {
  const rows = args.count("rows", quick ? 20_000 : 100_000);
  return {
    rows,
    seed: args.count("seed", 42),
    k: args.count("k", 10),
    queries: args.count("queries", quick ? 200 : 1_000),
    efSearch: args.counts("ef", [40, 64, 100, 200, 400]),
    repeats: args.count("repeats", quick ? 1 : 3),
    warmup: args.count("warmup", quick ? 20 : 100),
    exactQueries: args.count("exact-queries", quick ? 30 : rows > 200_000 ? 50 : 200),
    filteredQueries: args.count("filtered-queries", quick ? 30 : 200),
    // A filtered HNSW search for an image outside a small subtree can scan up to
    // hnsw.max_scan_tuples rows (seconds at 1 M): measure fewer of them, once.
    filteredMeasured: args.count("filtered-measured", quick ? 30 : rows > 200_000 ? 100 : 200),
    filteredRepeats: args.count("filtered-repeats", 1),
    filteredEfSearch: args.counts("filtered-ef", [40, 100]),
    filterShares: args.decimals("filter-percent", [1, 0.1]).map((percent) => percent / 100),
    reuse: args.flag("reuse"),
    rebuildIndexes: args.flag("rebuild-indexes"),
    // A serial build of the 1 M index takes most of an hour on 2 cores: opt in above 200 K rows.
    serialBuild: args.flag("serial-build") || (rows <= 200_000 && !args.flag("no-serial-build")),
    halfvec: !args.flag("no-halfvec"),
    maintenanceWorkMem: args.string("maintenance-work-mem", rows > 500_000 ? "8GB" : "4GB"),
    threads: args.count("threads", Math.max(1, os.cpus().length)),
    database: args.string("database", `arbor_bench_vectors_${formatCount(rows)}`),
    groundTruthOnly: args.flag("ground-truth-only"),
  };
}

const benchmark: Benchmark = {
  name: "similar-images",
  description:
    "Similar-image search (ImageRepository.findSimilar, pgvector HNSW cosine) on clustered synthetic 768-d embeddings: recall@k against exact search, latency, QPS, index build time; float32 vs halfvec; subtree filters.",
  options: [
    "--rows N            images (default 100k; --quick 20k); e.g. --rows 1m",
    "--reuse             keep the loaded database and built indexes when they match (else rebuilt)",
    "--rebuild-indexes   with --reuse: rebuild the HNSW indexes anyway",
    "--serial-build      also time a build without parallel workers (default only up to 200k rows)",
    "--no-halfvec        skip the halfvec expression index and its searches",
    "--queries N         query images for unfiltered search (default 1000)",
    "--ef 40,64,…        hnsw.ef_search values (default 40,64,100,200,400)",
    "--repeats N         measured passes per configuration, median reported (default 3)",
    "--exact-queries N   queries of the exact sequential-scan anchor (default 200; 50 above 200k rows)",
    "--filtered-queries N  queries per subtree filter and query origin with ground truth (default 200)",
    "--filtered-measured N of which measured (default 200; 100 above 200k rows)   --filtered-repeats N (default 1)",
    "--filtered-ef 40,100  ef_search values for filtered HNSW searches",
    "--filter-percent 1,0.1  subtree filters, by the share of all rows they hold (the nearest taxon's subtree)",
    "--maintenance-work-mem SIZE  for the index builds (default 4GB; 8GB above 500k rows)",
    "--threads N         threads of the exact ground truth in JavaScript (default: cores)",
    "--seed N            data seed (default 42)   --k N  neighbours (default 10)",
    "--database NAME     benchmark database (default arbor_bench_vectors_<rows>)",
    "--ground-truth-only load (or reuse) the data and cache the exact ground truth, no index builds or searches;",
    "                    lets the ground truth be computed while another run builds the indexes (use --out DIR)",
  ],
  run,
};
export default benchmark;

async function run(context: BenchContext): Promise<BenchReport> {
  const { progress } = context;
  const options = readOptions(context);
  const spec = datasetSpec(options.rows, options.seed);
  const server = serverUrl((line) => progress.log(line));

  const taxonomy = new SyntheticTaxonomy(spec.seed, spec.tree);
  const generator = await progress.step("synthetic taxonomy and species centres", async () => new EmbeddingGenerator(taxonomy, spec.geometry));

  // Load (or reuse) the data set.
  let pool: Pool | undefined;
  let loaded = undefined as Awaited<ReturnType<typeof findLoadedDataset>>;
  if (options.reuse && !(await createDatabaseIfMissing(server, options.database))) {
    pool = createPool(databaseUrl(server, options.database), 4);
    loaded = await findLoadedDataset(pool, spec);
    if (loaded) progress.log(`reusing ${options.database}: ${loaded.rows.toLocaleString("en-US")} rows loaded ${loaded.loadedAt}`);
    else {
      progress.log(`${options.database} does not hold this data set: recreating it`);
      await pool.end();
      pool = undefined;
    }
  }
  const reused = loaded !== undefined;
  if (!loaded) {
    await recreateDatabase(server, options.database);
    pool = createPool(databaseUrl(server, options.database), 4);
    loaded = await progress.step(`load ${options.rows.toLocaleString("en-US")} rows into ${options.database}`, () =>
      loadDataset(pool!, spec, generator, progress),
    );
  }
  pool = pool!;
  await ensureStateTables(pool);
  const modelVersionId = loaded.modelVersionId;
  const postgres = await postgresInfo(pool);

  // Queries: random table rows (findSimilar searches by image id; the query image itself is excluded).
  const queryRows = distinctRows(new Random(spec.seed, STREAM_QUERIES), options.rows, Math.min(options.queries, options.rows));
  const subtrees = options.filterShares.map((share) => pickSubtree(taxonomy, generator, options.rows, share, options.k));
  const groups: QueryGroup[] = [{ key: "all", queryRows, withinTaxonId: null }];
  for (const subtree of subtrees) {
    const inside = (row: number) => taxonomy.isWithin(generator.taxonIdOfRow(row), subtree.taxonId);
    groups.push({ key: `${subtree.key}:outside`, queryRows: queryRows.filter((row) => !inside(row)).slice(0, options.filteredQueries), withinTaxonId: subtree.taxonId });
    const members = new Random(spec.seed, STREAM_SUBTREE_QUERIES, subtree.taxonId).shuffle(subtree.rows.slice());
    groups.push({ key: `${subtree.key}:inside`, queryRows: members.slice(0, options.filteredQueries), withinTaxonId: subtree.taxonId });
  }
  if (options.groundTruthOnly) {
    await progress.step("exact ground truth (JavaScript, float64)", () => exactGroundTruth(pool!, spec, groups, options.k, options.threads, progress));
    await pool.end();
    return {
      variant: `${formatCount(options.rows)}.ground-truth`,
      parameters: { ...options, datasetFingerprint: fingerprint(spec) },
      postgres,
      tables: [{ title: "Ground truth cached", columns: ["query set", "queries", "withinTaxonId"], rows: groups.map((g) => [g.key, g.queryRows.length, g.withinTaxonId]) }],
      figures: { groups: groups.map((g) => ({ key: g.key, queries: g.queryRows.length, withinTaxonId: g.withinTaxonId })) },
    };
  }

  // Index builds: serial (optional) then with the server's 2 parallel maintenance workers; the
  // parallel float32 index is the one left in place, like the migration's.
  const kinds: IndexKind[] = options.halfvec ? ["vector", "halfvec"] : ["vector"];
  const builds: Array<IndexBuild & { reused: boolean }> = [];
  for (const kind of kinds) {
    const { name } = indexDefinition(kind, spec.geometry.dimension);
    const parallel = await previousBuild(pool, kind, 2);
    const canReuse = reused && !options.rebuildIndexes && parallel !== undefined && (await indexExists(pool, name));
    if (canReuse) {
      const serial = await previousBuild(pool, kind, 0);
      if (serial) builds.push({ ...serial, reused: true });
      builds.push({ ...parallel, reused: true });
      progress.log(`reusing ${name} (built ${parallel.builtAt} in ${parallel.seconds.toFixed(0)} s)`);
      continue;
    }
    if (options.serialBuild) builds.push({ ...(await buildIndex(pool, kind, spec.geometry.dimension, 0, options.maintenanceWorkMem, progress)), reused: false });
    builds.push({ ...(await buildIndex(pool, kind, spec.geometry.dimension, 2, options.maintenanceWorkMem, progress)), reused: false });
  }
  await pool.query("ANALYZE image_embedding");

  const truth = await progress.step("exact ground truth (JavaScript, float64)", () =>
    exactGroundTruth(pool!, spec, groups, options.k, options.threads, progress),
  );

  // Searches run on one connection that never idles out, so its backend's CPU time can be read.
  const buildPool = pool;
  pool = new pg.Pool({ connectionString: databaseUrl(server, options.database), max: 1, idleTimeoutMillis: 0 });
  const searchPool = pool;
  const backendPid = async () => (await searchPool.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]?.pid;
  const images = new ImageRepository(pool);
  const k = options.k;
  const measure = (label: string, rows: number[], search: Parameters<typeof measureSearch>[2], group: string, repeats = options.repeats, warmup = options.warmup) =>
    measureSearch(label, rows, search, truth.get(group)!, k, repeats, warmup, progress, backendPid);

  // Anchor: exact sequential scan.
  const exactRows = queryRows.slice(0, options.exactQueries);
  const exact = await measure(`exact seq scan (${exactRows.length} queries)`, exactRows, exactSearch(pool, { modelVersionId, k }), "all", 1, Math.min(3, exactRows.length));
  const plans: Record<string, string> = {};
  plans.exact = await firstPlan(pool, (p) => exactSearch(p, { modelVersionId, k })(queryRows[0]!));

  const unfiltered: Array<{ method: string; efSearch: number; run: SearchRun }> = [];
  plans.findSimilar = await firstPlan(pool, (p) => storeSearch(new ImageRepository(p), { modelVersionId, k, efSearch: 40, exactCandidateLimit: 0 })(queryRows[0]!));
  // A freshly built index is not in shared_buffers yet (at 1 M it is twice their size): one
  // unmeasured pass over every query first, or the first ef_search measured would be a cold-cache figure.
  await progress.step("warm-up: findSimilar over all queries", () => warmUp(queryRows, storeSearch(images, { modelVersionId, k, efSearch: options.efSearch[0] ?? 40, exactCandidateLimit: 0 })));
  for (const efSearch of options.efSearch) {
    const search = storeSearch(images, { modelVersionId, k, efSearch, exactCandidateLimit: 0 });
    unfiltered.push({ method: "findSimilar (vector)", efSearch, run: await measure(`findSimilar ef_search=${efSearch}`, queryRows, search, "all") });
  }
  if (options.halfvec) {
    plans.halfvec = await firstPlan(pool, (p) => halfvecSearch(p, { modelVersionId, k, efSearch: 40, dimension: spec.geometry.dimension })(queryRows[0]!));
    await progress.step("warm-up: halfvec search over all queries", () => warmUp(queryRows, halfvecSearch(pool!, { modelVersionId, k, efSearch: options.efSearch[0] ?? 40, dimension: spec.geometry.dimension })));
    for (const efSearch of options.efSearch) {
      const search = halfvecSearch(pool, { modelVersionId, k, efSearch, dimension: spec.geometry.dimension });
      unfiltered.push({ method: "halfvec index (bench SQL)", efSearch, run: await measure(`halfvec ef_search=${efSearch}`, queryRows, search, "all") });
    }
  }

  const filtered: Array<{ subtree: string; origin: string; path: string; efSearch: number | null; run: SearchRun }> = [];
  for (const subtree of subtrees) {
    for (const origin of ["inside", "outside"] as const) {
      const group = `${subtree.key}:${origin}`;
      const rows = groups.find((g) => g.key === group)!.queryRows.slice(0, options.filteredMeasured);
      const measureFiltered = (label: string, search: Parameters<typeof measureSearch>[2]) =>
        measure(label, rows, search, group, options.filteredRepeats, Math.min(10, rows.length));
      const base = { modelVersionId, k, withinTaxonId: subtree.taxonId };
      for (const efSearch of options.filteredEfSearch) {
        const search = storeSearch(images, { ...base, efSearch, exactCandidateLimit: 0 });
        plans[`${group}:hnsw`] ??= await firstPlan(pool, (p) => storeSearch(new ImageRepository(p), { ...base, efSearch, exactCandidateLimit: 0 })(rows[0]!));
        filtered.push({ subtree: subtree.key, origin, path: "HNSW + iterative scan", efSearch, run: await measureFiltered(`${group} HNSW ef_search=${efSearch}`, search) });
      }
      const exactPath = storeSearch(images, { ...base, efSearch: 40, exactCandidateLimit: options.rows });
      plans[`${group}:exact`] ??= await firstPlan(pool, (p) => storeSearch(new ImageRepository(p), { ...base, efSearch: 40, exactCandidateLimit: options.rows })(rows[0]!));
      filtered.push({ subtree: subtree.key, origin, path: "exact (candidates ≤ limit)", efSearch: null, run: await measureFiltered(`${group} exact path`, exactPath) });
    }
  }
  await pool.end();
  await buildPool.end();

  return report(options, spec, { reused, loaded, postgres, builds, exact, unfiltered, filtered, subtrees, plans, groups });
}

interface Subtree {
  key: string;
  share: number;
  taxonId: number;
  rank: string;
  name: string;
  rows: number[];
}

/** The taxon above species whose subtree holds closest (in ratio) to `share` of the rows. */
function pickSubtree(taxonomy: SyntheticTaxonomy, generator: EmbeddingGenerator, totalRows: number, share: number, k: number): Subtree {
  const counts = new Map<number, number>();
  const speciesRows = new Map<number, number[]>();
  for (let row = 0; row < totalRows; row++) {
    const taxonId = generator.taxonIdOfRow(row);
    (speciesRows.get(taxonId) ?? speciesRows.set(taxonId, []).get(taxonId)!).push(row);
  }
  for (const [taxonId, rows] of speciesRows) {
    for (const ancestor of taxonomy.taxon(taxonId).ancestorIds) counts.set(ancestor, (counts.get(ancestor) ?? 0) + rows.length);
  }
  const target = share * totalRows;
  let best: number | undefined;
  for (const [taxonId, count] of counts) {
    if (count <= k * 2) continue;
    if (best === undefined || Math.abs(Math.log(count / target)) < Math.abs(Math.log(counts.get(best)! / target))) best = taxonId;
  }
  if (best === undefined) throw new Error(`no taxon holds more than ${2 * k} rows`);
  const taxon = taxonomy.taxon(best);
  const rows: number[] = [];
  for (const [taxonId, list] of speciesRows) if (taxonomy.isWithin(taxonId, best)) rows.push(...list);
  rows.sort((a, b) => a - b);
  return { key: `subtree ${share * 100}%`, share, taxonId: best, rank: RANKS[taxon.rank]!, name: taxon.scientificName, rows };
}

async function warmUp(queryRows: readonly number[], search: (row: number) => Promise<unknown>): Promise<void> {
  for (const row of queryRows) await search(row);
}

function distinctRows(random: Random, total: number, count: number): number[] {
  const chosen = new Set<number>();
  while (chosen.size < count) chosen.add(Math.floor(random.float() * total));
  return [...chosen];
}

function report(
  options: Options,
  spec: ReturnType<typeof datasetSpec>,
  r: {
    reused: boolean;
    loaded: NonNullable<Awaited<ReturnType<typeof findLoadedDataset>>>;
    postgres: Awaited<ReturnType<typeof postgresInfo>>;
    builds: Array<IndexBuild & { reused: boolean }>;
    exact: SearchRun;
    unfiltered: Array<{ method: string; efSearch: number; run: SearchRun }>;
    filtered: Array<{ subtree: string; origin: string; path: string; efSearch: number | null; run: SearchRun }>;
    subtrees: Subtree[];
    plans: Record<string, string>;
    groups: QueryGroup[];
  },
): BenchReport {
  const anchor = r.exact.latency;
  const ratio = (run: SearchRun): Cell[] => [anchor.p50 / run.latency.p50, run.latency.qps / anchor.qps];
  const buildTable: ResultTable = {
    title: `HNSW index builds (m=16, ef_construction=64) on ${options.rows.toLocaleString("en-US")} rows`,
    columns: ["index", "parallel workers", "build s", "size MiB", "measured"],
    rows: r.builds.map((b) => [b.kind === "vector" ? "vector_cosine_ops" : "halfvec_cosine_ops (expression)", b.parallelWorkers, b.seconds, b.sizeBytes / 2 ** 20, b.reused ? `earlier run, ${b.builtAt.slice(0, 16)}` : "this run"]),
    notes: [`maintenance_work_mem ${options.maintenanceWorkMem}; data load ${r.loaded.loadSeconds.toFixed(0)} s (${r.reused ? `earlier run, ${r.loaded.loadedAt.slice(0, 16)}` : "this run"}).`],
  };
  const searchRow = (method: string, ef: number | null, run: SearchRun): Cell[] => [
    method,
    ef,
    run.recall,
    run.latency.p50,
    run.latency.p99,
    run.latency.qps,
    ...ratio(run),
    run.serverCpuMsPerQuery,
  ];
  const unfilteredTable: ResultTable = {
    title: `Unfiltered k=${options.k} search, ${options.queries} queries, single client, ${options.repeats === 1 ? "one pass" : `median of ${options.repeats} passes`}`,
    columns: ["method", "ef_search", `recall@${options.k}`, "p50 ms", "p99 ms", "QPS", "p50 × faster than exact", "QPS × exact", "server CPU ms/query"],
    rows: [searchRow("exact seq scan (anchor)", null, r.exact), ...r.unfiltered.map((u) => searchRow(u.method, u.efSearch, u.run))],
    notes: [
      `Anchor: exact search by parallel sequential scan in the same run (${r.exact.queries} queries, one pass). Ground truth: exact k-NN in JavaScript (float64 sums over the same float32 vectors).`,
      "Latency is client-side for the whole findSimilar call (BEGIN, 2 × SET LOCAL, SELECT, COMMIT over loopback).",
      "Server CPU ms/query: CPU time of the search connection's backend per query (/proc), unaffected by other load; the anchor's excludes its parallel workers.",
    ],
  };
  const filteredTable: ResultTable = {
    title: `Filtered search (withinTaxonId), findSimilar, up to ${options.filteredMeasured} queries per row, ${options.filteredRepeats === 1 ? "one pass" : `median of ${options.filteredRepeats} passes`}`,
    columns: ["subtree", "rows", "query images", "path", "ef_search", `recall@${options.k}`, "short results", "p50 ms", "p99 ms", "QPS", "p50 × faster than exact", "server CPU ms/query"],
    rows: r.filtered.map((f) => {
      const subtree = r.subtrees.find((s) => s.key === f.subtree)!;
      return [
        `${subtree.rank} ${subtree.name} (${((100 * subtree.rows.length) / options.rows).toFixed(2)} %)`,
        subtree.rows.length,
        f.origin === "inside" ? "in subtree" : "outside subtree",
        f.path,
        f.efSearch,
        f.run.recall,
        f.run.shortResults,
        f.run.latency.p50,
        f.run.latency.p99,
        f.run.latency.qps,
        anchor.p50 / f.run.latency.p50,
        f.run.serverCpuMsPerQuery,
      ];
    }),
    notes: [
      "HNSW path = findSimilar with exactCandidateLimit 0 (always the index, hnsw.iterative_scan = relaxed_order); exact path = exactCandidateLimit above the subtree size.",
      "'short results': queries that got fewer than k rows. Speed-up is against the unfiltered exact anchor.",
    ],
  };

  const goalCandidates = r.unfiltered.filter((u) => u.run.recall >= GOAL.recall && u.run.latency.p50 <= GOAL.p50Ms);
  const bestFloat = r.unfiltered.filter((u) => u.method.startsWith("findSimilar")).find((u) => u.run.recall >= GOAL.recall);
  const notes = [
    `Data: ${options.rows.toLocaleString("en-US")} synthetic unit vectors (768-d) on a tree of ${spec.tree.kingdoms} kingdoms … species, Zipf abundance; same-species cosine ≈ 0.89, random pairs ≈ 0.59 (fitted to the real BioCLIP 2 sample). Seed ${options.seed}.`,
    `Goal (issue): recall@10 ≥ ${GOAL.recall} at p50 ≤ ${GOAL.p50Ms} ms on ${GOAL.rows.toLocaleString("en-US")} vectors. ` +
      (options.rows < GOAL.rows
        ? `This run has ${options.rows.toLocaleString("en-US")} rows: see the 1m run for the goal.`
        : goalCandidates.length > 0
          ? `Met by: ${goalCandidates.map((g) => `${g.method} ef_search=${g.efSearch} (recall ${g.run.recall.toFixed(3)}, p50 ${g.run.latency.p50.toFixed(2)} ms)`).join("; ")}.`
          : `Not met: ${bestFloat ? `findSimilar first reaches recall ${GOAL.recall} at ef_search=${bestFloat.efSearch} with p50 ${bestFloat.run.latency.p50.toFixed(2)} ms` : `no ef_search tried reaches recall ${GOAL.recall}`}.`),
    "Other sessions may share this machine: the load average at start and end is recorded in the JSON.",
  ];

  return {
    variant: formatCount(options.rows),
    parameters: { ...options, datasetFingerprint: fingerprint(spec), geometry: spec.geometry, tree: spec.tree, generatorVersion: spec.generatorVersion },
    postgres: r.postgres,
    tables: [buildTable, unfilteredTable, filteredTable],
    figures: {
      load: { reused: r.reused, seconds: r.loaded.loadSeconds, loadedAt: r.loaded.loadedAt },
      indexBuilds: r.builds,
      exactAnchor: r.exact,
      unfiltered: r.unfiltered,
      filtered: r.filtered,
      subtrees: r.subtrees.map(({ rows, ...subtree }) => ({ ...subtree, rowCount: rows.length })),
      queryGroups: r.groups.map((g) => ({ key: g.key, queries: g.queryRows.length, withinTaxonId: g.withinTaxonId })),
      plans: r.plans,
      goal: { ...GOAL, metBy: goalCandidates.map((g) => ({ method: g.method, efSearch: g.efSearch })) },
    },
    notes,
  };
}
