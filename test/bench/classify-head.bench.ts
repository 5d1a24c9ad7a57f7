/**
 * Arbor's classification head (services/inference/src/classify: TreeOfLifeClassifier over a SpeciesIndex,
 * float32 screening through ONNX Runtime, float64 rescoring) against a PyTorch baseline (float32
 * torch.matmul + softmax + index_add group sums, OpenBLAS) on 1 M synthetic species × 768 with a 7-rank
 * rollup, same data, interleaved; top-1 at every rank checked against a float64 reference on 1,000 queries.
 * Needs Debian's /usr/bin/python3 with python3-torch, python3-numpy and libopenblas0-pthread.
 *
 *   npm run bench -- classify-head                 # 1 M species (≈ 3 GB data files in $TMPDIR, reused)
 *   npm run bench -- classify-head --species 100k  # smaller tree
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_MAX_RESCORED, DEFAULT_TOLERANCE, NativeSpeciesScorer } from "../../services/inference/src/classify/index.ts";
import { BenchUsageError, formatCount } from "./lib/args.ts";
import type { BenchContext, BenchReport, Benchmark } from "./lib/benchmark.ts";
import { loadAverage } from "./lib/machine.ts";
import { median } from "./lib/stats.ts";
import type { ResultTable } from "./lib/table.ts";
import { kernels as classifyKernels, nativeKernelsUnavailable } from "../../services/inference/src/classify/kernels/index.ts";
import { ENGINE_SCORERS, openEngineHead, runEngineHead, screenOnly, type EngineHead, type EngineScorerName } from "./inference/classify/engine-head.ts";
import { compareTop1, type Reference, type RankExactness } from "./inference/classify/exactness.ts";
import {
  queryFileMatches,
  readDataset,
  speciesFileMatches,
  writeQueryFile,
  writeSpeciesFile,
  type Dataset,
} from "./inference/classify/synthetic-dataset.ts";
import { TorchHead, type TorchHeadInfo } from "./inference/classify/torch-head.ts";
import { screeningKernels, type KernelTiming } from "./inference/classify/prototype/screening-kernels.ts";

const GOAL_SPEEDUP = 2;

interface Options {
  species: number;
  queries: number;
  seed: number;
  queryNoise: number;
  logitScale: number;
  k: number;
  threads: number;
  scorer: EngineScorerName;
  tolerance: number | undefined;
  rounds: number;
  batch32Queries: number;
  batch1Queries: number;
  batch: number;
  dataDir: string;
  python: string;
  openblasCoretype: string;
  torchExactness: boolean;
  kernels: boolean;
}

function readOptions({ args, quick }: BenchContext): Options {
  // The product's choice (chooseScorer): the native known-order kernel where it runs, else ONNX Runtime.
  const scorer = args.string("scorer", NativeSpeciesScorer.unavailable() === undefined ? "native" : "ort");
  if (!ENGINE_SCORERS.includes(scorer as EngineScorerName)) throw new BenchUsageError(`--scorer must be one of ${ENGINE_SCORERS.join(", ")}`);
  const tolerance = args.string("tolerance", "default");
  const options: Options = {
    species: args.count("species", quick ? 20_000 : 1_000_000),
    queries: args.count("queries", quick ? 64 : 1000),
    seed: args.count("seed", 1),
    queryNoise: Number(args.string("query-noise", "4")),
    logitScale: Number(args.string("logit-scale", "100")),
    k: args.count("k", 5),
    threads: args.count("threads", 2),
    scorer: scorer as EngineScorerName,
    tolerance: tolerance === "default" ? undefined : Number(tolerance),
    rounds: args.count("rounds", quick ? 1 : 6),
    batch32Queries: args.count("timed-queries", quick ? 32 : 128),
    batch1Queries: args.count("batch1-queries", quick ? 2 : 4),
    batch: args.count("batch", 32),
    dataDir: args.string("data-dir", join(tmpdir(), "arbor-bench-classify-head")),
    python: args.string("python", "/usr/bin/python3"),
    openblasCoretype: args.string("openblas-coretype", "auto"),
    torchExactness: !args.flag("no-torch-exactness"),
    kernels: !args.flag("no-kernels"),
  };
  if (!(options.queryNoise >= 0) || !(options.logitScale > 0)) throw new BenchUsageError("--query-noise must be ≥ 0 and --logit-scale > 0");
  if (options.tolerance !== undefined && !(options.tolerance > 0 && options.tolerance < 1)) throw new BenchUsageError("--tolerance must be in (0, 1)");
  if (options.batch32Queries > options.queries || options.batch1Queries > options.queries) throw new BenchUsageError("timed query counts must not exceed --queries");
  return options;
}

/** The species and query files (reused when their parameters match) and the float64 reference (cached next to them). */
function dataPaths(options: Options) {
  const base = `species-${formatCount(options.species)}-d768-s${options.seed}`;
  const speciesPath = join(options.dataDir, `${base}.bin`);
  const queriesPath = join(options.dataDir, `${base}-q${options.queries}-noise${options.queryNoise}.bin`);
  return { speciesPath, queriesPath, referencePath: `${queriesPath}.reference-scale${options.logitScale}.json` };
}

async function ensureData(options: Options, context: BenchContext): Promise<ReturnType<typeof dataPaths>> {
  const { progress } = context;
  mkdirSync(options.dataDir, { recursive: true });
  const paths = dataPaths(options);
  const speciesParams = { species: options.species, dim: 768, seed: options.seed };
  if (!speciesFileMatches(paths.speciesPath, speciesParams)) {
    await progress.step(`write ${paths.speciesPath}`, async () => writeSpeciesFile(paths.speciesPath, speciesParams, progress));
  } else progress.log(`reusing ${paths.speciesPath}`);
  const queryParams = { ...speciesParams, queries: options.queries, queryNoise: options.queryNoise };
  if (!queryFileMatches(paths.queriesPath, queryParams)) {
    await progress.step(`write ${paths.queriesPath}`, async () => writeQueryFile(paths.queriesPath, queryParams));
  }
  return paths;
}

async function loadReference(torch: TorchHead, options: Options, path: string, context: BenchContext): Promise<Reference & { cached: boolean }> {
  if (existsSync(path)) {
    const cached = JSON.parse(readFileSync(path, "utf8")) as Reference;
    if (cached.top1.length === options.queries) {
      context.progress.log(`float64 reference: cached in ${path} (computed in ${cached.seconds.toFixed(0)} s)`);
      return { ...cached, cached: true };
    }
  }
  const reference = await context.progress.step(`float64 reference: ${options.queries} queries × ${formatCount(options.species)} species (numpy float64, OpenBLAS dgemm)`, () =>
    torch.reference(options.queries),
  );
  writeFileSync(`${path}.tmp`, JSON.stringify(reference));
  renameSync(`${path}.tmp`, path);
  return { ...reference, cached: false };
}

interface Timing {
  contender: "PyTorch" | "Arbor";
  batch: number;
  round: number;
  queries: number;
  msPerImage: number;
  loadAverage: number;
  /** PyTorch: major page faults during the run (species pages re-read from disk: that run is pessimistic). */
  majorFaults?: number;
}

const perImage = (batchMs: number[], queries: number) => batchMs.reduce((a, b) => a + b, 0) / queries;

async function run(context: BenchContext): Promise<BenchReport> {
  const options = readOptions(context);
  const { progress } = context;
  if (!existsSync(options.python)) throw new BenchUsageError(`no Python at ${options.python} (--python; Debian's /usr/bin/python3 with python3-torch)`);
  const paths = await ensureData(options, context);

  const torch = TorchHead.start(options.python, options.threads, options.openblasCoretype, (line) => progress.log(`PyTorch worker: ${line}`));
  let head: EngineHead | undefined;
  try {
    const info: TorchHeadInfo = await torch.info();
    progress.log(`PyTorch ${info.torch}, ${info.threads} threads, BLAS ${info.openblas.config ?? info.blasLibraries.join(" ")}, OPENBLAS_CORETYPE ${info.OPENBLAS_CORETYPE ?? "unset"}`);
    if (!info.openblas.library) progress.log("warning: OpenBLAS is not loaded: PyTorch runs on the reference BLAS and is not a fair anchor (apt-get install libopenblas0-pthread)");
    const torchLoad = await progress.step("load the data into PyTorch", () => torch.load(paths.speciesPath, paths.queriesPath, options.logitScale));
    const reference = await loadReference(torch, options, paths.referencePath, context);

    const dataset: Dataset = await progress.step("load the data into the engine", async () => readDataset(paths.speciesPath, paths.queriesPath));
    head = await progress.step("build the SpeciesIndex and classifier", async () =>
      openEngineHead(dataset, { scorer: options.scorer, threads: options.threads, logitScale: options.logitScale, tolerance: options.tolerance }),
    );
    const engine = head;
    const timings: Timing[] = [];
    const record = (contender: Timing["contender"], batch: number, round: number, batchMs: number[], queries: number, majorFaults?: number) => {
      const t: Timing = { contender, batch, round, queries, msPerImage: perImage(batchMs, queries), loadAverage: loadAverage()[0], majorFaults };
      timings.push(t);
      progress.log(`${contender} batch ${batch}, round ${round}: ${t.msPerImage.toFixed(1)} ms/image over ${queries} queries (load ${t.loadAverage})${majorFaults ? `, ${majorFaults} major page faults` : ""}`);
    };

    // Round 0: every query, for exactness (and timing). PyTorch first, then the engine.
    let torchTop1: Reference["top1"] | undefined;
    if (options.torchExactness) {
      const all = await progress.step(`PyTorch: ${options.queries} queries at batch ${options.batch}`, () => torch.run(options.batch, 0, options.queries, options.k));
      torchTop1 = all.top1;
      record("PyTorch", options.batch, 0, all.batchMs, options.queries, all.majorFaults);
    }
    const counter = progress.counter(`Arbor at batch ${options.batch}`, options.queries, "queries", 30_000);
    const engineAll = await progress.step(`Arbor: ${options.queries} queries at batch ${options.batch}`, () =>
      runEngineHead(engine, dataset, options.batch, 0, options.queries, options.k, (done) => counter.set(done)),
    );
    record("Arbor", options.batch, 0, engineAll.batchMs, options.queries);

    // Timing rounds on slices of the queries, order alternating.
    for (let round = 1; round <= options.rounds; round++) {
      const start32 = (round * options.batch32Queries) % (options.queries - options.batch32Queries + 1);
      const start1 = (round * options.batch1Queries) % (options.queries - options.batch1Queries + 1);
      const steps: Array<() => Promise<void>> = [
        async () => {
          const r = await torch.run(options.batch, start32, options.batch32Queries, options.k);
          record("PyTorch", options.batch, round, r.batchMs, options.batch32Queries, r.majorFaults);
        },
        async () => record("Arbor", options.batch, round, (await runEngineHead(engine, dataset, options.batch, start32, options.batch32Queries, options.k)).batchMs, options.batch32Queries),
        async () => {
          const r = await torch.run(1, start1, options.batch1Queries, options.k);
          record("PyTorch", 1, round, r.batchMs, options.batch1Queries, r.majorFaults);
        },
        async () => record("Arbor", 1, round, (await runEngineHead(engine, dataset, 1, start1, options.batch1Queries, options.k)).batchMs, options.batch1Queries),
      ];
      const order = round % 2 === 1 ? [1, 0, 3, 2] : [0, 1, 2, 3];
      for (const i of order) await steps[i]!();
    }

    // Where the engine's time goes: the screening pass alone (ONNX Runtime float32 GEMM + exp) on one batch.
    // Diagnostics after the measurements: a failure here is reported, not fatal.
    const diagnostics: string[] = [];
    const screening = await progress
      .step("Arbor screening pass alone (one batch)", () => screenOnly(engine, dataset, 0, Math.min(options.batch, options.queries), options.k))
      .catch((error: unknown) => {
        diagnostics.push(`screening-only timing failed: ${(error as Error).message}`);
        return { msPerImage: Number.NaN, chunks: 0 };
      });

    const kernels: KernelTiming[] = options.kernels
      ? await progress
          .step("screening kernels: ONNX Runtime float32 / int8 vs torch.matmul, one 65,536-species chunk", () =>
            screeningKernels({ threads: options.threads, batches: [1, options.batch], rows: 65_536, repeats: context.quick ? 2 : 5, torch }),
          )
          .catch((error: unknown) => {
            diagnostics.push(`screening-kernel comparison failed: ${(error as Error).message}`);
            return [];
          })
      : [];

    const bound = engine.scorer.errorBound(options.logitScale, 768);
    const float32RelativeBound = 2 * bound.weight;
    const exactEngine = compareTop1(engineAll.top1, reference, float32RelativeBound);
    const exactTorch = torchTop1 ? compareTop1(torchTop1, reference, float32RelativeBound) : undefined;

    // A PyTorch run that faulted in a noticeable part of the mapped species matrix (evicted by memory pressure from
    // other work) measured the disk, not the head: such runs are kept in the JSON but left out of the medians.
    const evictedFaults = Math.ceil((options.species * 768 * 4) / 4096 / 100);
    const counted = (t: Timing) => (t.majorFaults ?? 0) <= evictedFaults;
    const med = (contender: Timing["contender"], batch: number) =>
      median(timings.filter((t) => t.contender === contender && t.batch === batch && counted(t)).map((t) => t.msPerImage));
    const speedRows = [1, options.batch].map((batch) => {
      const torchMs = med("PyTorch", batch);
      const arborMs = med("Arbor", batch);
      return [batch, torchMs, arborMs, torchMs / arborMs, batch === options.batch ? (torchMs / arborMs >= GOAL_SPEEDUP ? "yes" : "no") : "–"];
    });
    const engineMs32 = med("Arbor", options.batch);
    const meanRescored = engineAll.rescored.reduce((a, b) => a + b, 0) / engineAll.rescored.length;
    const tables: ResultTable[] = [
      {
        title: `Classification head, ${formatCount(options.species)} species × 768, 7 ranks, top-${options.k} per rank: ms per image (median of rounds)`,
        columns: ["batch", "PyTorch ms/image", "Arbor ms/image", "Arbor speed-up", `goal ≥ ${GOAL_SPEEDUP}×`],
        rows: speedRows,
        notes: [
          `PyTorch ${info.torch} (${info.threads} threads, ${info.openblas.config ?? "NOT OpenBLAS"}, OPENBLAS_CORETYPE ${info.OPENBLAS_CORETYPE ?? "unset"}): torch.matmul float32 → × logit scale → softmax → genus sums by index_add_, each higher rank by index_add_ of the rank below → topk per rank.`,
          `Arbor: TreeOfLifeClassifier.classify(batch, { rank: 'all', k: ${options.k} }) with the ${engine.scorer.name} scorer (${options.threads} threads) and the ${classifyKernels.name} classify kernels${nativeKernelsUnavailable ? ` (native: ${nativeKernelsUnavailable})` : ""}, tolerance ${options.tolerance ?? `${DEFAULT_TOLERANCE} (default)`}, float64 budget ${DEFAULT_MAX_RESCORED} species per image (default), answer threshold default; times include everything classify() does.`,
          `Rounds: round 0 = all ${options.queries} queries at batch ${options.batch} (also the exactness run); ${options.rounds} more rounds of ${options.batch32Queries} queries at batch ${options.batch} and ${options.batch1Queries} at batch 1, order alternating. Per-round figures are in the JSON.`,
        ],
      },
      {
        title: `Top-1 per rank against the float64 reference (${options.queries} queries)`,
        columns: ["rank", "Arbor identical", "Arbor wrong", "Arbor float64 ties", "PyTorch float32 identical", "PyTorch wrong", "closest reference gap", `gaps < float32 bound (${float32RelativeBound.toExponential(1)})`],
        rows: exactEngine.map((e: RankExactness, r) => [
          e.rank,
          e.identical,
          e.wrong,
          e.ties,
          exactTorch?.[r]?.identical ?? null,
          exactTorch ? exactTorch[r]!.wrong + exactTorch[r]!.ties : null,
          e.closestGap.toExponential(2),
          e.belowFloat32Bound,
        ]),
        notes: [
          `Reference: numpy float64 over every species (dgemm on float64 copies of the float32 vectors, exp(logit − scale), float64 group sums), ${reference.cached ? "cached from an earlier run" : "computed in this run"} in ${reference.seconds.toFixed(0)} s. Float64 itself orders two masses reliably down to a relative gap of about 1e-12; gaps below 1e-9 would count as ties (none is wrong there by definition).`,
          `gap = (best − second) / best of the reference's masses at that rank (species: 1 − e^−Δlogit). "gaps < float32 bound": queries that float32 logits alone cannot rank with certainty (relative mass error up to ${float32RelativeBound.toExponential(1)}), so the engine must rescore them.`,
          `Arbor itself certified (exactness.certified) the top-1 at all seven ranks as float64-exact for ${engineAll.certifiedAll.filter(Boolean).length} of ${options.queries} queries; mean species rescored in float64 per image: ${Math.round(meanRescored)}.`,
        ],
      },
      {
        title: `Where Arbor's time goes at batch ${options.batch} (ms per image)`,
        columns: ["part", "ms/image", "share"],
        rows: [
          ["classify() total (median of rounds)", engineMs32, 1],
          [`screening alone: ${engine.scorer.name} over all ${formatCount(options.species)} species`, screening.msPerImage, screening.msPerImage / engineMs32],
          ["the rest: TypeScript fold of the softmax, float64 rescoring, group sums, top-k, certification", engineMs32 - screening.msPerImage, (engineMs32 - screening.msPerImage) / engineMs32],
        ],
        notes: [
          `Mean species rescored in float64 per image: ${Math.round(meanRescored)} (min ${Math.min(...engineAll.rescored)}, max ${Math.max(...engineAll.rescored)}); the float32 screening error bound is ${bound.logit.toExponential(2)} logits (relative weight error ${bound.weight.toExponential(2)}).`,
          `PyTorch's matmul alone is the same float32 GEMM (${((2 * options.species * 768) / 1e9).toFixed(2)} GFLOP per image).`,
        ],
      },
    ];
    if (kernels.length > 0) {
      tables.push({
        title: "Screening GEMM alone on this CPU (prototype, random data of one 65,536 × 768 chunk), scaled to 1 M species",
        columns: ["kernel", "batch", "ms/image per 1 M species", "× PyTorch matmul"],
        rows: kernels.map((k) => {
          const torchKernel = kernels.find((t) => t.batch === k.batch && t.kernel.startsWith("PyTorch"));
          return [k.kernel, k.batch, k.msPerImagePerMillion, torchKernel ? torchKernel.msPerImagePerMillion / k.msPerImagePerMillion : null];
        }),
        notes: [
          "Median of interleaved repeats. int8: species quantised once to u8 (zero point 128) with a per-row scale, queries to s8 with a per-query scale: the kind of screening that would need a wider rigorous error bound (quantisation error, computable per row) and more rescoring, in exchange for the GEMM speed shown here. See test/bench/inference/classify/prototype/screening-kernels.ts.",
        ],
      });
    }
    const excluded = timings.filter((t) => !counted(t));
    const notes = [
      ...diagnostics,
      ...(excluded.length > 0
        ? [`Left out of the medians: ${excluded.map((t) => `PyTorch batch ${t.batch} round ${t.round} (${t.majorFaults} major page faults: part of the species matrix was re-read from disk)`).join("; ")}.`]
        : []),
      `Synthetic tree (seed ${options.seed}): ${dataset.header.groupCounts.join(" / ")} kingdoms / phyla / classes / orders / families / genera, ${formatCount(options.species)} species (1–50 per genus, heavy-tailed); species vectors share ${JSON.stringify(dataset.header.shares)} of their squared norm by rank (same genus ≈ 0.85 cosine, different kingdoms ≈ 0.30).`,
      `Queries: ${options.queries}, each normalise(species + σ·noise) around a uniformly drawn species, σ = ${options.queryNoise} (cosine to that species ≈ ${(1 / Math.sqrt(1 + options.queryNoise ** 2)).toFixed(2)}, like an image embedding against its label's text embedding); the float64 top-1 species is the drawn one for ${reference.top1.filter((t, q) => t[6] === dataset.truth[q]).length} of ${options.queries}.`,
      `Logit scale ${options.logitScale}. Both heads read the same files (${paths.speciesPath}, ${paths.queriesPath}); PyTorch maps the species matrix (pre-read into the page cache; ${timings.reduce((sum, t) => sum + (t.majorFaults ?? 0), 0)} major page faults during its timed runs).`,
      "Other sessions share this 2-core machine: absolute times are noisy (the load average at each timing is in the JSON); compare within rounds.",
    ];
    return {
      variant: `${formatCount(options.species)}${options.tolerance !== undefined ? `.tolerance-${options.tolerance}` : ""}${options.k !== 5 ? `.k${options.k}` : ""}`,
      parameters: { ...options, ...paths },
      tables,
      figures: {
        timings,
        screening,
        kernels,
        exactness: { arbor: exactEngine, pytorch: exactTorch ?? null },
        arbor: { certifiedAll: engineAll.certifiedAll.filter(Boolean).length, rescored: engineAll.rescored, buildSeconds: engine.buildSeconds, errorBound: bound },
        reference: { seconds: reference.seconds, cached: reference.cached },
        torch: { ...info, loadSeconds: torchLoad.seconds },
        tree: { groupCounts: dataset.header.groupCounts },
      },
      notes,
    };
  } finally {
    await head?.scorer.close?.();
    await torch.close();
  }
}

const benchmark: Benchmark = {
  name: "classify-head",
  description: "Classification head over 1 M synthetic species × 768 with a 7-rank rollup: Arbor's TreeOfLifeClassifier vs torch.matmul + softmax + group sums (OpenBLAS), top-1 per rank checked against float64",
  options: [
    "--species 1m             species in the synthetic tree (data files are cached in --data-dir)",
    "--queries 1000           queries (all go through both heads at --batch for the exactness check)",
    "--batch 32               the batched size (batch 1 is always timed too)",
    "--rounds 6               further timing rounds after the exactness pass",
    "--timed-queries 128      queries per timing round at --batch; --batch1-queries 4 at batch 1",
    "--k 5                    top-k per rank",
    "--scorer native          Arbor's screening scorer: native (the addon's known-order float32 kernel; the default where it runs, as in the service), ort (ONNX Runtime float32 SGEMM) or js (float64, slow)",
    `--tolerance default      Arbor's absolute probability tolerance (the engine's default: ${DEFAULT_TOLERANCE})`,
    "--threads 2              ONNX Runtime intra-op threads and torch.set_num_threads",
    "--query-noise 4          σ of the query noise (cosine to the drawn species ≈ 1/√(1+σ²))",
    "--logit-scale 100 --seed 1",
    "--no-torch-exactness     skip PyTorch on every query (timing rounds only)",
    "--no-kernels             skip the screening-kernel comparison (float32 / int8 / torch.matmul on one chunk)",
    `--data-dir DIR           default ${join(tmpdir(), "arbor-bench-classify-head")}`,
    "--python /usr/bin/python3",
    "--openblas-coretype auto  auto: OPENBLAS_CORETYPE unset, OpenBLAS picks its kernels for this CPU; inherit: keep the environment's; or a kernel family (Haswell, SkylakeX, Cooperlake, Zen …)",
    "--quick                  20k species, 64 queries",
  ],
  run,
};

export default benchmark;
