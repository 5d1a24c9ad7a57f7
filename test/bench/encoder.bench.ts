/**
 * Encoder throughput on CPU: ONNX Runtime (fp32, fp16, int8 files of a model package) against the
 * PyTorch reference (the export tooling's own model, same checkpoint, OpenBLAS), same inputs, same
 * machine, interleaved in one run. Needs Debian's /usr/bin/python3 with python3-torch and
 * libopenblas0-pthread, and a package with its checkpoint, by default the random ViT-L/14 one:
 *
 *   cd models/export && /usr/bin/python3 -m arbor_export.export --random-init --seed 0 --config vit-l-14 --int8 \
 *     --name vit-l-14-random --version 1 --out ../build/vit-l-14-random \
 *     --write-checkpoint ../build/vit-l-14-random-ckpt/open_clip_pytorch_model.bin
 *   cd ../.. && npm run bench -- encoder
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { BenchUsageError } from "./lib/args.ts";
import type { Benchmark, BenchContext, BenchReport } from "./lib/benchmark.ts";
import type { ResultTable } from "./lib/table.ts";
import { surveyCoretypes, type CoretypeFigure } from "./encoder/coretype-survey.ts";
import { openOrtEncoder, ortContender, torchContender, type EncoderInput, type OrtEncoder } from "./encoder/contenders.ts";
import { firstImages, photoPixels, promptIds, randomPixels } from "./encoder/inputs.ts";
import { measurePhase, type PhaseResult } from "./encoder/measure.ts";
import { encoderPrecisions, readPackageManifest, type EncoderRole, type PackageManifest } from "./encoder/package.ts";
import { TorchWorker, type TorchInfo } from "./encoder/torch-worker.ts";

const GOALS = { fp32: { speedup: 1.2, cosine: 0.9999 }, int8: { speedup: 2.5, cosineToFp32: 0.99 } };
const DEFAULT_PACKAGE = "models/build/vit-l-14-random";
const ORT_VERSION = (createRequire(import.meta.url)("onnxruntime-node/package.json") as { version: string }).version;

interface Options {
  packageDir: string;
  checkpoint: string;
  batches: number[];
  textBatch: number;
  warmup: number;
  iterations: number;
  precisions: string[] | null;
  threads: number;
  python: string;
  openblasCoretype: string;
  ompWaitPolicy: string;
  ortSpinning: "on" | "off";
  survey: string[];
  surveyRounds: number;
  inputs: "photos" | "random";
  seed: number;
  settleMs: number;
}

function readOptions({ args, quick }: BenchContext): Options {
  const packageDir = resolve(args.string("package", DEFAULT_PACKAGE));
  const inputs = args.string("inputs", "photos");
  if (inputs !== "photos" && inputs !== "random") throw new BenchUsageError(`--inputs must be photos or random, got '${inputs}'`);
  const precisions = args.string("precisions", "all");
  const ortSpinning = args.string("ort-spinning", "off");
  if (ortSpinning !== "on" && ortSpinning !== "off") throw new BenchUsageError(`--ort-spinning must be on or off, got '${ortSpinning}'`);
  const survey = args.string("coretype-survey", quick ? "none" : "auto,Haswell,SkylakeX,Cooperlake,Zen");
  const options: Options = {
    packageDir,
    checkpoint: resolve(args.string("checkpoint", `${packageDir}-ckpt/open_clip_pytorch_model.bin`)),
    batches: args.counts("batches", quick ? [1] : [1, 8]),
    textBatch: args.count("text-batch", quick ? 8 : 80),
    warmup: args.count("warmup", 1),
    iterations: args.count("iterations", quick ? 2 : 5),
    precisions: precisions === "all" ? null : precisions.split(",").map((p) => p.trim()),
    threads: args.count("threads", 2),
    python: args.string("python", "/usr/bin/python3"),
    openblasCoretype: args.string("openblas-coretype", "auto"),
    ompWaitPolicy: args.string("omp-wait-policy", "PASSIVE"),
    ortSpinning,
    survey: survey === "none" ? [] : survey.split(",").map((s) => s.trim()),
    surveyRounds: args.count("survey-rounds", 3),
    inputs,
    seed: args.count("seed", 1),
    settleMs: args.count("settle-ms", 300),
  };
  if (options.iterations < 1 || options.batches.some((b) => b < 1)) throw new BenchUsageError("--iterations and --batches must be ≥ 1");
  return options;
}

function precisionsFor(manifest: PackageManifest, role: EncoderRole, options: Options): string[] {
  const available = encoderPrecisions(manifest, role);
  if (!options.precisions) return available;
  const missing = options.precisions.filter((p) => !available.includes(p));
  if (missing.length > 0) throw new BenchUsageError(`${manifest.name} has no ${missing.join(", ")} ${role} (it has ${available.join(", ")})`);
  return options.precisions;
}

async function runPhases(
  role: EncoderRole,
  inputs: EncoderInput[],
  manifest: PackageManifest,
  options: Options,
  worker: TorchWorker,
  workDir: string,
  context: BenchContext,
): Promise<{ phases: PhaseResult[]; sessions: Array<Omit<OrtEncoder, "session">> }> {
  const encoders: OrtEncoder[] = [];
  try {
    for (const precision of precisionsFor(manifest, role, options)) {
      const encoder = await context.progress.step(`open ${role} ${precision}`, () => openOrtEncoder(options.packageDir, manifest, role, precision, options.threads, options.ortSpinning === "on"));
      encoders.push(encoder);
    }
    const phases: PhaseResult[] = [];
    for (const input of inputs) {
      const contenders = [torchContender(worker, input, workDir), ...encoders.map((encoder) => ortContender(encoder, manifest, input))];
      phases.push(
        await measurePhase(
          contenders,
          {
            encoder: input.kind,
            batch: input.dims[0]!,
            dim: manifest.embeddingDim,
            warmup: options.warmup,
            iterations: options.iterations,
            settleMs: options.settleMs,
            referenceKey: "ORT fp32",
          },
          context.progress,
        ),
      );
    }
    return { phases, sessions: encoders.map(({ session: _session, ...rest }) => rest) };
  } finally {
    for (const encoder of encoders) await encoder.session.release();
  }
}

const cos = (value: number | undefined) => (value === undefined ? null : value.toFixed(6));

function resultTable(phases: PhaseResult[], manifest: PackageManifest, options: Options): ResultTable {
  return {
    title: `${manifest.name} encoders on CPU (${options.threads} threads each): PyTorch fp32 anchor vs ONNX Runtime ${ORT_VERSION}, interleaved`,
    columns: [
      "encoder",
      "batch",
      "runtime",
      "precision",
      "median ms",
      "min ms",
      "items/s",
      "× PyTorch",
      "cos to PyTorch",
      "cos to ORT fp32",
      "centred cos to PyTorch",
      "centred cos to ORT fp32",
    ],
    rows: phases.flatMap((phase) =>
      phase.contenders.map((c) => [
        phase.encoder,
        phase.batch,
        c.runtime,
        c.precision,
        Math.round(c.medianMs),
        Math.round(c.minMs),
        c.itemsPerSecond,
        c.speedup,
        c.key === phase.anchor ? "anchor" : cos(c.cosineToAnchor.min),
        c.cosineToReference ? cos(c.cosineToReference.min) : "–",
        c.key === phase.anchor ? "anchor" : (cos(c.centredCosineToAnchor?.min) ?? "–"),
        cos(c.centredCosineToReference?.min) ?? "–",
      ]),
    ),
    notes: [
      `Median of ${options.iterations} timed rounds after ${options.warmup} warm-up call(s) each. "× PyTorch" is the median over rounds of (PyTorch time / this time) in the same round; the JSON also has the ratio of medians.`,
      "Times are the model call only: torch forward under inference_mode in the worker, session.run here (inputs prepared beforehand, outputs copied out after).",
      "Cosines are per row on the raw (unnormalised) embeddings, minimum over the batch. Centred: after removing each side's batch mean, " +
        "i.e. only the input-dependent part (random weights give all inputs a large shared component: the largest cosine between two " +
        `different inputs' PyTorch embeddings is ${phases.map((p) => `${p.encoder} batch ${p.batch}: ${p.anchorMaxPairwiseCosine === null ? "–" : p.anchorMaxPairwiseCosine.toFixed(4)}`).join(", ")}).`,
    ],
  };
}

interface GoalRow {
  goal: string;
  batch: number;
  speedup: number | null;
  cosine: number | null;
  met: boolean;
}

function goalRows(phases: PhaseResult[]): GoalRow[] {
  const rows: GoalRow[] = [];
  for (const phase of phases.filter((p) => p.encoder === "image")) {
    const fp32 = phase.contenders.find((c) => c.key === "ORT fp32");
    const int8 = phase.contenders.find((c) => c.key === "ORT int8");
    if (fp32) {
      rows.push({
        goal: `fp32 ≥ ${GOALS.fp32.speedup}× PyTorch, cosine ≥ ${GOALS.fp32.cosine}`,
        batch: phase.batch,
        speedup: fp32.speedup,
        cosine: fp32.cosineToAnchor.min,
        met: fp32.speedup >= GOALS.fp32.speedup && fp32.cosineToAnchor.min >= GOALS.fp32.cosine,
      });
    }
    if (int8) {
      const cosine = int8.cosineToReference?.min ?? null;
      rows.push({
        goal: `int8 ≥ ${GOALS.int8.speedup}× PyTorch fp32, cosine to fp32 ≥ ${GOALS.int8.cosineToFp32}`,
        batch: phase.batch,
        speedup: int8.speedup,
        cosine,
        met: int8.speedup >= GOALS.int8.speedup && cosine !== null && cosine >= GOALS.int8.cosineToFp32,
      });
    }
  }
  return rows;
}

function surveyTable(survey: CoretypeFigure[], used: string, info: TorchInfo): ResultTable {
  return {
    title: `PyTorch float32 GEMM (${info.blas.gemmShape.join("×")}) through OpenBLAS by OPENBLAS_CORETYPE, ${info.threads} threads`,
    columns: ["OPENBLAS_CORETYPE", "kernels OpenBLAS picked", "median GFLOP/s", "best GFLOP/s", "runs"],
    rows: survey.map((s) => [s.setting === "auto" ? "unset (auto-detect)" : s.setting, s.corename, s.medianGflops, s.bestGflops, s.gflops.length]),
    notes: [
      `One fresh process per run, settings alternated round by round. The anchor above ran with OPENBLAS_CORETYPE ${info.blas.OPENBLAS_CORETYPE ?? "unset"} (option --openblas-coretype ${used}): OpenBLAS kernels ${info.blas.openblas.corename ?? "?"}.`,
    ],
  };
}

async function run(context: BenchContext): Promise<BenchReport> {
  const options = readOptions(context);
  const { progress } = context;
  if (!existsSync(join(options.packageDir, "manifest.json"))) {
    throw new BenchUsageError(`no package at ${options.packageDir} (make it with models/export, see the header of test/bench/encoder.bench.ts)`);
  }
  if (!existsSync(options.checkpoint)) throw new BenchUsageError(`no checkpoint at ${options.checkpoint} (--checkpoint)`);
  if (!existsSync(options.python)) throw new BenchUsageError(`no Python at ${options.python} (--python; Debian's /usr/bin/python3 with python3-torch)`);
  const manifest = readPackageManifest(options.packageDir);

  const survey = options.survey.length > 0 ? await progress.step("OPENBLAS_CORETYPE survey", () => surveyCoretypes(options.survey, options.surveyRounds, options, progress)) : [];

  const workDir = mkdtempSync(join(tmpdir(), "arbor-bench-encoder-"));
  const worker = TorchWorker.start(options);
  try {
    const torchInfo = await worker.info();
    progress.log(`PyTorch ${torchInfo.torch}, ${torchInfo.threads} threads, BLAS ${torchInfo.blas.openblas.config ?? torchInfo.blas.libraries.join(" ")}, GEMM ${torchInfo.blas.gemmGflops} GFLOP/s`);
    if (!torchInfo.blas.openblas.library) progress.log("warning: OpenBLAS is not loaded: PyTorch runs on the reference BLAS and is not a fair anchor (apt-get install libopenblas0-pthread)");
    const loaded = await progress.step("load the checkpoint into PyTorch", () =>
      worker.request<{ stateDictSha256: string; seconds: number }>({ cmd: "load", checkpoint: options.checkpoint, config: manifest.architecture.name }),
    );
    if (loaded.stateDictSha256 !== manifest.source.stateDictSha256) {
      throw new Error(`${options.checkpoint} holds other weights than ${manifest.name} (stateDictSha256 ${loaded.stateDictSha256} ≠ ${manifest.source.stateDictSha256})`);
    }

    const largest = Math.max(...options.batches);
    const pixels = options.inputs === "photos" ? await photoPixels(largest) : randomPixels(largest, options.seed);
    const imageInputs: EncoderInput[] = options.batches.map((batch) => {
      const rows = firstImages(pixels, batch);
      return { kind: "image", data: rows.data, dims: rows.dims };
    });
    const image = await runPhases("image_encoder", imageInputs, manifest, options, worker, workDir, context);
    let text: Awaited<ReturnType<typeof runPhases>> | undefined;
    let texts: string[] = [];
    if (options.textBatch > 0) {
      const ids = await promptIds(options.textBatch);
      texts = ids.texts;
      text = await runPhases("text_encoder", [{ kind: "text", data: ids.ids, dims: ids.dims }], manifest, options, worker, workDir, context);
    }
    const phases = [...image.phases, ...(text?.phases ?? [])];
    const goals = goalRows(phases);

    const tables: ResultTable[] = [
      resultTable(phases, manifest, options),
      {
        title: "Goals (image encoder)",
        columns: ["goal", "batch", "× PyTorch", "cosine", "met"],
        rows: goals.map((g) => [g.goal, g.batch, g.speedup, cos(g.cosine ?? undefined), g.met ? "yes" : "no"]),
      },
    ];
    if (survey.length > 0) tables.push(surveyTable(survey, options.openblasCoretype, torchInfo));

    const fileSizes = Object.fromEntries(manifest.files.map((f) => [f.path, f.bytes]));
    const notes = [
      `Package ${manifest.name} v${manifest.version}${manifest.isStandIn ? " (random weights, NOT BioCLIP 2: int8 accuracy on the real weights must be checked separately)" : ""}; PyTorch runs models/export's pure-torch CLIP with ${options.checkpoint.replace(`${resolve(".")}/`, "")} (weights fingerprint checked against the manifest).`,
      `Inputs: ${options.inputs === "photos" ? `the repository's test photographs through the service's open_clip preprocessing, mirrored copies past ${pixels.sources.filter((s) => !s.includes("mirrored")).length}` : `seeded random pixels (seed ${options.seed})`}${options.textBatch > 0 ? `; text: ${options.textBatch} prompts (CLIP's ImageNet templates around one label)` : ""}.`,
      `PyTorch ${torchInfo.torch}: ${torchInfo.threads} threads (torch.set_num_threads), ATen kernels ${torchInfo.cpuCapability}, BLAS ${torchInfo.blas.openblas.config ?? "NOT OpenBLAS"} (${torchInfo.blas.openblas.threads ?? "?"} threads), OPENBLAS_CORETYPE ${torchInfo.blas.OPENBLAS_CORETYPE ?? "unset"}, OMP_WAIT_POLICY ${torchInfo.blas.OMP_WAIT_POLICY ?? "unset"}, GEMM ${torchInfo.blas.gemmGflops} GFLOP/s at start.`,
      `ONNX Runtime ${ORT_VERSION} CPU provider with the inference service's session options (graph optimisation 'all', sequential, intraOpNumThreads ${options.threads})${options.ortSpinning === "off" ? ", idle pool threads sleeping (the service's default, INFERENCE_SPIN_WAIT=off)" : ", thread-pool spinning on (--ort-spinning on)"}.`,
      "fp16 files are meant for CUDA: on CPU, ONNX Runtime computes them in fp32 between inserted casts, so they cannot be faster than fp32 here.",
      "Other sessions share this machine: absolute times are noisy (load averages per phase are in the JSON); ratios come from runs interleaved in the same rounds.",
    ];
    if (goals.length > 0) notes.push(`Goals: ${goals.map((g) => `${g.goal.split(" ")[0]} batch ${g.batch} ${g.met ? "met" : "NOT met"}`).join("; ")}.`);

    return {
      variant: manifest.name,
      parameters: { ...options, package: manifest.name, precisionsRun: image.sessions.map((s) => s.precision), fileSizes, ortVersion: ORT_VERSION },
      tables,
      figures: {
        phases,
        goals,
        torch: { ...torchInfo, loadSeconds: loaded.seconds, stateDictSha256: loaded.stateDictSha256 },
        ortSessions: { image: image.sessions, text: text?.sessions ?? [] },
        openblasCoretypeSurvey: survey,
        inputs: { images: pixels.sources, texts },
        quantization: manifest.quantization ?? null,
      },
      notes,
    };
  } finally {
    await worker.close();
    rmSync(workDir, { recursive: true, force: true });
  }
}

const encoder: Benchmark = {
  name: "encoder",
  description: "Image/text encoder throughput on CPU: ONNX Runtime fp32/fp16/int8 vs the PyTorch reference (OpenBLAS), same inputs, interleaved",
  options: [
    `--package DIR            model package (default ${DEFAULT_PACKAGE})`,
    "--checkpoint FILE        its open_clip checkpoint (default <package>-ckpt/open_clip_pytorch_model.bin)",
    "--batches 1,8            image batch sizes",
    "--text-batch 80          text batch size (0: skip the text encoder)",
    "--iterations 5           timed rounds per batch size (after --warmup 1)",
    "--precisions all         ONNX files to run, e.g. fp32,int8 (default: every precision in the manifest)",
    "--threads 2              torch.set_num_threads and ONNX Runtime intraOpNumThreads",
    "--python /usr/bin/python3",
    "--openblas-coretype auto  auto: OPENBLAS_CORETYPE unset, OpenBLAS picks its kernels for this CPU; inherit: keep the environment's; or a kernel family (Haswell, SkylakeX, Cooperlake, Zen …)",
    "--coretype-survey LIST   OPENBLAS_CORETYPE values to time GEMM with first (default auto,Haswell,SkylakeX,Cooperlake,Zen; none to skip)",
    "--survey-rounds 3",
    "--inputs photos          photos (test/fixtures/images, service preprocessing) or random (seeded pixels, --seed)",
    "--omp-wait-policy PASSIVE  OMP_WAIT_POLICY for the PyTorch worker (inherit: leave the environment)",
    "--ort-spinning off       the service's default (INFERENCE_SPIN_WAIT): idle pool threads sleep; on: they spin (ONNX Runtime's own default)",
    "--settle-ms 300          pause before each timed call",
    "--quick                  batch 1, 2 rounds, text batch 8, no survey",
  ],
  run,
};

export default encoder;
