/**
 * The inference service under load: 16 concurrent HTTP clients sending one image per request to the
 * service running as its own process (`node --import tsx services/inference/src/main.ts`), against the
 * offline batched figure measured in the same run: the same preprocessing workers and ONNX Runtime
 * session, with the same settings, fed whole batches in-process. Interleaved round by round.
 *
 *   npm run bench -- inference-http            # small 224 px JPEGs and real photos, 3 rounds
 *   npm run bench -- inference-http --profile small   # plus a CPU profile of the service's main thread
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../services/inference/src/config.ts";
import { BenchUsageError } from "./lib/args.ts";
import { wrkAvailable } from "./lib/wrk.ts";
import type { BenchContext, BenchReport, Benchmark } from "./lib/benchmark.ts";
import type { Progress } from "./lib/progress.ts";
import { median } from "./lib/stats.ts";
import type { ResultTable } from "./lib/table.ts";
import { mainThreadProfile, summariseProfile, type ProfileSummary } from "./inference/cpu-profile.ts";
import { CLIENT_KINDS, checkOneEmbedding, DEFAULT_CLIENT_KIND, type ClientKind } from "./inference/http-clients.ts";
import { IMAGE_SETS, loadImageSet, type ImageSet, type ImageSetName } from "./inference/image-inputs.ts";
import { InProcessEngine, OFFLINE_MODES, type OfflineMode } from "./inference/in-process-engine.ts";
import { httpPhase, inProcessPhase, offlinePhase, type PathName, type PhaseResult, type PhaseTiming } from "./inference/phases.ts";
import { startService, waitForClassifier, type ServiceProcess } from "./inference/service-process.ts";

const GOAL_RATIO = 0.9;
const STAND_IN_DIR = "arbor-standin-v1";
/** --window completions: answers this close to a window's first one belong to its opening batch. */
const COMPLETION_BURST_MS = 200;

const CLIENT_DESCRIPTIONS: Record<ClientKind, string> = {
  wrk: "wrk (one C thread, its own process), the image file as the request body (application/octet-stream) and raw float32 answers (Accept: application/octet-stream), each checked for status 200 and 768 floats",
  binary: "node:http keep-alive, the image file as the request body (application/octet-stream) and raw float32 answers (Accept: application/octet-stream)",
  raw: "node:http keep-alive, JSON requests with base64 images encoded once before the run and JSON answers",
  typed: "the project's InferenceClient (fetch per call; the image as the raw body, raw float32 answers decoded into Float32Arrays)",
};

interface Options {
  sets: ImageSetName[];
  rounds: number;
  clients: number;
  client: ClientKind;
  offlineModes: OfflineMode[];
  inProcess: boolean;
  timing: Record<ImageSetName, PhaseTiming>;
  /** The service's environment (the same settings build the in-process engine). */
  serviceEnv: Record<string, string>;
  profile: ImageSetName[];
}

function list<T extends string>(text: string, allowed: readonly T[], name: string): T[] {
  if (text === "none") return [];
  const items = text.split(",").map((item) => item.trim());
  const bad = items.filter((item) => !allowed.includes(item as T));
  if (bad.length > 0) throw new BenchUsageError(`--${name}: unknown ${bad.join(", ")} (expected ${allowed.join(", ")})`);
  return items as T[];
}

function readOptions({ args, quick }: BenchContext): Options {
  const client = args.string("client", DEFAULT_CLIENT_KIND);
  if (!CLIENT_KINDS.includes(client as ClientKind)) throw new BenchUsageError(`--client must be one of ${CLIENT_KINDS.join(", ")}`);
  if (client === "wrk" && !wrkAvailable()) throw new BenchUsageError("--client wrk: wrk is not installed (apt-get install wrk)");
  const seconds = (name: string, fallback: number) => 1000 * args.count(name, fallback);
  const windowKind = args.string("window", "clock");
  if (windowKind !== "clock" && windowKind !== "completions") throw new BenchUsageError("--window must be clock or completions");
  const windowOptions = windowKind === "completions" ? { completionSpan: { burstMs: COMPLETION_BURST_MS } } : {};
  if (windowKind === "completions" && client === "wrk") throw new BenchUsageError("--window completions needs a Node client (--client binary): wrk measures clock windows");
  const options: Options = {
    sets: list(args.string("sets", "small,photos"), IMAGE_SETS, "sets"),
    rounds: args.count("rounds", quick ? 1 : 3),
    clients: args.count("clients", 16),
    client: client as ClientKind,
    offlineModes: list(args.string("offline", OFFLINE_MODES.join(",")), OFFLINE_MODES, "offline"),
    inProcess: !args.flag("no-in-process"),
    timing: {
      small: { warmupMs: seconds("warmup", quick ? 2 : 4), durationMs: seconds("seconds", quick ? 5 : 20), ...windowOptions },
      photos: { warmupMs: seconds("photo-warmup", quick ? 6 : 12), durationMs: seconds("photo-seconds", quick ? 10 : 45), ...windowOptions },
    },
    serviceEnv: {
      INFERENCE_INTRA_OP_THREADS: String(args.count("threads", 2)),
      INFERENCE_INTER_OP_THREADS: "1",
      PREPROCESS_WORKERS: String(args.count("workers", 2)),
      MAX_BATCH: String(args.count("max-batch", 16)),
      MAX_WAIT_MS: String(args.count("max-wait-ms", 10)),
      MAX_QUEUE: String(args.count("max-queue", 256)),
      MODEL_DIR: args.string("model", `models/${STAND_IN_DIR}`),
      MODEL_PRECISION: args.string("precision", "fp32"),
      INFERENCE_PROVIDERS: "cpu",
      LOG_LEVEL: args.string("log-level", "info"),
    },
    profile: list(args.string("profile", "none"), IMAGE_SETS, "profile"),
  };
  if (options.rounds < 1 || options.clients < 1) throw new BenchUsageError("--rounds and --clients must be ≥ 1");
  if (options.offlineModes.length === 0) throw new BenchUsageError("--offline needs at least one mode: the anchor");
  return options;
}

/** Path order of one round: reversed every other round, so drift in the machine's load does not favour one path. */
function pathsOf(options: Options, round: number): PathName[] {
  const paths: PathName[] = [
    ...options.offlineModes.map((mode) => `offline ${mode}` as const),
    ...(options.inProcess ? (["in-process service"] as const) : []),
    "HTTP service",
  ];
  return round % 2 === 0 ? paths : paths.reverse();
}

interface SetResult {
  set: ImageSetName;
  description: string;
  meanBytes: number;
  rounds: PhaseResult[][];
}

function byPath(result: SetResult, path: PathName): PhaseResult[] {
  return result.rounds.map((round) => round.find((phase) => phase.path === path)).filter((phase): phase is PhaseResult => phase !== undefined);
}

/** Per round: the best offline mode is the anchor (the stricter target). */
function anchorOf(round: PhaseResult[]): PhaseResult {
  return round.filter((phase) => phase.path.startsWith("offline")).reduce((best, phase) => (phase.imagesPerSecond > best.imagesPerSecond ? phase : best));
}

function ratioMedian(result: SetResult, path: PathName): number {
  return median(result.rounds.map((round) => (round.find((p) => p.path === path)?.imagesPerSecond ?? Number.NaN) / anchorOf(round).imagesPerSecond));
}

const med = (phases: PhaseResult[], pick: (phase: PhaseResult) => number | undefined) => {
  const values = phases.map(pick).filter((value): value is number => value !== undefined && Number.isFinite(value));
  return values.length > 0 ? median(values) : null;
};

function throughputTable(results: SetResult[], options: Options): ResultTable {
  const rows = results.flatMap((result) => {
    const paths = pathsOf(options, 0);
    return paths.map((path) => {
      const phases = byPath(result, path);
      return [
        result.set,
        path,
        med(phases, (p) => p.imagesPerSecond),
        ratioMedian(result, path),
        med(phases, (p) => p.latency?.p50),
        med(phases, (p) => p.latency?.p99),
        med(phases, (p) => p.meanBatchSize),
        med(phases, (p) => p.service?.processCpuCores),
        med(phases, (p) => p.benchProcessCpuCores),
        med(phases, (p) => p.imagesPerCpuSecond),
        median(result.rounds.map((round) => (round.find((p) => p.path === path)?.imagesPerCpuSecond ?? Number.NaN) / anchorOf(round).imagesPerCpuSecond)),
        phases.map((p) => p.imagesPerSecond.toFixed(1)).join(" / "),
      ];
    });
  });
  return {
    title: `${options.clients} concurrent clients through the HTTP service vs the offline batched figure (median of ${options.rounds} interleaved round${options.rounds > 1 ? "s" : ""})`,
    columns: ["images", "path", "images/s", "× offline", "p50 ms", "p99 ms", "mean batch", "service CPU cores", "bench process CPU cores", "images per CPU-s", "CPU efficiency × offline", "images/s per round"],
    rows,
    notes: [
      "× offline: median over rounds of (this path / the best offline mode of the same round).",
      "offline sequential: preprocess a batch on the worker pool, then one session.run; offline pipelined: the next batch is preprocessed while the current one is encoded. Same pool size, ONNX Runtime threads and batch size as the service.",
      "in-process service: the service's ImageEmbedder (worker pool + micro-batcher) called by the same number of concurrent callers, one image each, without HTTP (diagnostic).",
      "HTTP service: the service as its own process; p50/p99 are request latencies seen by the clients; mean batch and service CPU are from its /metrics over the window. bench process CPU is the load generator's own CPU for HTTP (it shares the two cores), the whole engine otherwise.",
      "images per CPU-s: images / CPU-seconds of every process doing the work (service + load generator for HTTP). Under heavy machine load a path gets CPU in proportion to its runnable threads, which distorts images/s; CPU efficiency is the steadier comparison (the anchor is the best-throughput offline mode of the round).",
    ],
  };
}

function goalTable(results: SetResult[]): ResultTable {
  return {
    title: `Goal: HTTP throughput ≥ ${GOAL_RATIO * 100} % of the offline batched figure`,
    columns: ["images", "HTTP images/s", "offline images/s (best mode)", "HTTP / offline", "met"],
    rows: results.map((result) => {
      const ratio = ratioMedian(result, "HTTP service");
      return [result.set, med(byPath(result, "HTTP service"), (p) => p.imagesPerSecond), median(result.rounds.map((round) => anchorOf(round).imagesPerSecond)), ratio, ratio >= GOAL_RATIO ? "yes" : "no"];
    }),
  };
}

function serviceTable(results: SetResult[], options: Options): ResultTable {
  const httpPaths = pathsOf(options, 0).filter((path) => path.startsWith("HTTP"));
  return {
    title: "Inside the HTTP service (its /metrics over each window, median of rounds)",
    columns: ["images", "service", "batches/s", "mean batch", "batch-size histogram (le: batches, all rounds)", "ORT ms per batch", "encoder busy share", "preprocess ms per image (worker)", "mean HTTP ms (server)", "event-loop lag p99 ms", "non-200"],
    rows: results.flatMap((result) => httpPaths.map((path) => {
      const phases = byPath(result, path).filter((p) => p.service);
      const buckets: Record<string, number> = {};
      for (const phase of phases) for (const [le, n] of Object.entries(phase.service!.batchSizeBuckets)) buckets[le] = (buckets[le] ?? 0) + n;
      return [
        result.set,
        path.replace("HTTP ", ""),
        med(phases, (p) => p.service!.imageBatches / p.seconds),
        med(phases, (p) => p.service!.meanBatchSize),
        Object.entries(buckets).filter(([, n]) => n > 0).map(([le, n]) => `≤${le}: ${n}`).join(", "),
        med(phases, (p) => p.service!.meanBatchMs),
        med(phases, (p) => p.service!.encoderBusyShare),
        med(phases, (p) => p.service!.meanPreprocessMs),
        med(phases, (p) => p.service!.meanHttpMs),
        med(phases, (p) => p.service!.eventLoopLagP99Ms),
        phases.reduce((sum, p) => sum + p.service!.httpNon200 + (p.failures ?? 0), 0),
      ];
    })),
  };
}

function profileTables(profiles: Array<{ set: ImageSetName; phase: PhaseResult; summary: ProfileSummary }>): ResultTable[] {
  return profiles.flatMap(({ set, phase, summary }) => [
    {
      title: `Service main thread, ${set} images, CPU profile over the window (${phase.imagesPerSecond.toFixed(1)} images/s while profiled): busy ${(100 * summary.busyShare).toFixed(0)} % of ${(summary.wallMs / 1000).toFixed(1)} s`,
      columns: ["self time by category", "ms", "ms per image", "share of busy"],
      rows: summary.categories.map((line) => [line.what, line.ms, line.ms / phase.images, `${(100 * line.shareOfBusy).toFixed(1)} %`]),
    },
    {
      title: `Service main thread, ${set} images: inclusive time of the request path's steps`,
      columns: ["step", "ms", "ms per image", "share of busy"],
      rows: summary.steps.map((line) => [line.what, line.ms, line.ms / phase.images, `${(100 * line.shareOfBusy).toFixed(1)} %`]),
      notes: ["Worker threads (decode/resize) and ONNX Runtime's own threads are not in a main-thread profile; the service's histograms cover them."],
    },
    {
      title: `Service main thread, ${set} images: top functions by self time`,
      columns: ["function", "ms", "share of busy"],
      rows: summary.topSelf.map((line) => [line.what, line.ms, `${(100 * line.shareOfBusy).toFixed(1)} %`]),
    },
  ]);
}

/** Result file variant: the model package and precision when not the defaults, then the client kind. */
function variantOf(options: Options): string | undefined {
  const model = options.serviceEnv.MODEL_DIR!.replace(/\/+$/, "").split("/").pop()!;
  const parts = [
    ...(model === STAND_IN_DIR ? [] : [model]),
    ...(options.serviceEnv.MODEL_PRECISION === "fp32" ? [] : [options.serviceEnv.MODEL_PRECISION!]),
    ...(options.client === DEFAULT_CLIENT_KIND ? [] : [options.client]),
  ];
  return parts.length > 0 ? parts.join(".") : undefined;
}

async function withService<T>(env: Record<string, string>, nodeArgs: string[], progress: Progress, work: (service: ServiceProcess) => Promise<T>): Promise<T> {
  const service = await startService(env, { nodeArgs });
  try {
    await waitForClassifier(service, progress);
    return await work(service);
  } finally {
    const code = await service.stop();
    if (code !== 0) process.stderr.write(`inference service exited with ${code}:\n${service.stderrTail()}\n`);
  }
}

async function run(context: BenchContext): Promise<BenchReport> {
  const options = readOptions(context);
  const { progress } = context;
  const config = loadConfig({ ...process.env, ...options.serviceEnv });
  const sets = new Map<ImageSetName, ImageSet>();
  for (const name of options.sets) sets.set(name, await loadImageSet(name));

  const engine = await progress.step("open the in-process engine (service parts, same settings)", () => InProcessEngine.open(config));
  const results: SetResult[] = options.sets.map((set) => ({ set, description: sets.get(set)!.description, meanBytes: sets.get(set)!.meanBytes, rounds: [] }));
  let check: Awaited<ReturnType<typeof checkOneEmbedding>> | undefined;
  try {
    await withService(options.serviceEnv, [], progress, async (service) => {
      progress.log(`HTTP service: pid ${service.pid} at ${service.baseUrl}`);
      check = await checkOneEmbedding(service.baseUrl, sets.get(options.sets[0]!)!.images[0]!);
      for (let round = 0; round < options.rounds; round++) {
        for (const result of results) {
          const images = sets.get(result.set)!.images;
          const timing = options.timing[result.set];
          const phases: PhaseResult[] = [];
          for (const path of pathsOf(options, round)) {
            const label = `round ${round + 1}/${options.rounds} ${result.set}: ${path}`;
            const phase = await progress.step(label, () =>
              path.startsWith("HTTP")
                ? httpPhase(service.baseUrl, images, options.clients, options.client, timing)
                : path === "in-process service"
                  ? inProcessPhase(engine, images, options.clients, timing)
                  : offlinePhase(engine, images, path.slice("offline ".length) as OfflineMode, timing),
            );
            progress.log(`${label}: ${phase.imagesPerSecond.toFixed(1)} images/s, mean batch ${phase.meanBatchSize.toFixed(1)}${phase.latency ? `, p50 ${phase.latency.p50.toFixed(0)} ms, p99 ${phase.latency.p99.toFixed(0)} ms` : ""}, load ${phase.loadAverageAtStart[0]}`);
            if (phase.failures) progress.log(`warning: ${phase.failures} failed requests, e.g. ${phase.failureSamples?.[0]}`);
            phases.push(phase);
          }
          result.rounds.push(phases);
        }
      }
    });
  } finally {
    await engine.close();
  }

  const profiles: Array<{ set: ImageSetName; phase: PhaseResult; summary: ProfileSummary }> = [];
  for (const set of options.profile) {
    const dir = mkdtempSync(join(tmpdir(), "arbor-bench-inference-prof-"));
    try {
      let window = { fromUs: 0, toUs: 0 };
      const phase = await progress.step(`profile the service (${set})`, () =>
        withService(options.serviceEnv, ["--cpu-prof", `--cpu-prof-dir=${dir}`], progress, (service) =>
          httpPhase(service.baseUrl, sets.get(set)?.images ?? [], options.clients, options.client, options.timing[set], (w) => (window = w)),
        ),
      );
      profiles.push({ set, phase, summary: summariseProfile(mainThreadProfile(dir), window) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  const tables = [throughputTable(results, options), goalTable(results), serviceTable(results, options), ...profileTables(profiles)];
  const notes = [
    `Model package ${config.modelDir.replace(/.*\/models\//, "models/")}${check?.isStandIn ? " (random weights, NOT BioCLIP 2)" : ""}${config.modelDir.replace(/\/+$/, "").endsWith(STAND_IN_DIR) ? ": the committed stand-in, whose small encoder makes per-request overheads weigh far more than they would next to ViT-L/14" : ""}, ${options.serviceEnv.MODEL_PRECISION}.`,
    `Service settings (the in-process paths use the same): ${Object.entries(options.serviceEnv).map(([k, v]) => `${k}=${v}`).join(" ")}.`,
    `Clients: ${options.clients} closed loops, one image per request, ${CLIENT_DESCRIPTIONS[options.client]}. Windows: ${options.sets.map((s) => `${s} ${options.timing[s].warmupMs / 1000} s warm-up + ${options.timing[s].durationMs / 1000} s`).join(", ")}; offline paths: whole batches after one warm-up batch, at least as long, rate from the first batch's end to the last's.`,
    options.timing.small.completionSpan
      ? `Closed-loop rates from completion to completion (--window completions): from the window's first answer (the answers within ${COMPLETION_BURST_MS} ms of it are its batch and not counted) to its last, as the offline paths measure.`
      : "Closed-loop rates: images answered inside the clock window ÷ its length.",
    ...results.map((r) => `${r.set}: ${r.description}; mean ${Math.round(r.meanBytes / 1024)} KiB per file.`),
    "Other sessions share this 2-core machine: absolute figures are noisy (load average at each phase start is in the JSON); compare paths within a round (the ratios).",
  ];
  return {
    variant: variantOf(options),
    parameters: { ...options, config },
    tables,
    figures: { results, profiles, check },
    notes,
  };
}

const benchmark: Benchmark = {
  name: "inference-http",
  description: "16 concurrent clients through the inference HTTP service vs the offline batched figure (same preprocessing + session, in-process), small 224 px JPEGs and real photos",
  options: [
    "--sets small,photos      image sets: small (224×224 JPEGs made from the test photos) and/or photos (the real photos as stored)",
    "--rounds 3               interleaved rounds (path order reversed every other round)",
    "--clients 16             concurrent closed-loop clients (HTTP and in-process)",
    "--client wrk             wrk (default where installed: apt-get install wrk; one C thread, the image file as the body, raw float32 answers), binary (the same from node:http in this process; the default without wrk), raw (node:http, JSON with base64, JSON answers; bodies encoded once) or typed (InferenceClient, binary transport)",
    "--seconds 20 --warmup 4  measurement window and warm-up for small images",
    "--photo-seconds 45 --photo-warmup 12   the same for photos",
    "--offline sequential,pipelined,pipelined-encoder-thread   offline modes; the best one each round is the anchor",
    "--no-in-process          skip the in-process ImageEmbedder path",
    "--threads 2 --workers 2 --max-batch 16 --max-wait-ms 10 --max-queue 256   service settings (INFERENCE_INTRA_OP_THREADS, PREPROCESS_WORKERS, MAX_BATCH, MAX_WAIT_MS, MAX_QUEUE)",
    "--log-level info         the service's LOG_LEVEL",
    "--model DIR              model package (default models/arbor-standin-v1)",
    "--precision fp32         the package variant (MODEL_PRECISION: fp32, fp16, int8, auto)",
    "--window clock           clock: images finished inside the window; completions: from the window's first answer to its last (batches seconds apart, e.g. ViT-L/14)",
    "--profile none           image sets to run once more with the service under --cpu-prof, summarised (e.g. --profile small)",
    "--quick                  1 round, short windows",
  ],
  run,
};

export default benchmark;
