// PROTOTYPE (benchmark only): what int8 screening (DynamicQuantizeMatMul over prepacked int8 species) would cost
// the exact engine on the benchmark's data: its rigorous per-logit error bound, its measured error, and how many
// species per image the engine would have to rescore (float32 or float64) with that bound, next to the same
// figures for the float32 screening bound.
//
//   node --import tsx test/bench/inference/classify/prototype/int8-rescoring.ts <species.bin> <queries.bin> [queries=64] [logitScale=100] [tolerance=1e-3]
//
// Bound (per logit, with the logit scale folded into the queries as the engine does):
//   x̃ = (q − z)·s_a with ORT's per-tensor asymmetric u8 quantisation of the batch (s_a = (max(0, max x) − min(0, min x)) / 255),
//   so |x_k − x̃_k| ≤ s_a·(1/2 + 2⁻¹⁰) (rounding of x/s_a in float32, with margin), ‖x − x̃‖ ≤ √dim · that;
//   ỹ = s_y·round(y/s_y), s_y = max|y|/127, ‖y − ỹ‖ computed per species in float64 (the max is used);
//   |x·y − x̃·ỹ| ≤ ‖x − x̃‖·‖y‖ + ‖x̃‖·‖y − ỹ‖ (Cauchy–Schwarz); the int32 sum is exact (VNNI: no int16 saturation);
//   the float32 conversion and the two scale products add 3u·|x̃·ỹ|; the tail (max, exp(ℓ − max + 87)) adds the
//   float32 scorer's u·(4·scale + 87) + 2·ε_exp.
// Species the engine must rescore, per image (and their union over each batch of 32), counted on a 0.01-logit
// histogram of the approximate logits:
//   topK: within 2ε of the (k+1)-th approximate logit (k = 5);
//   tolerance: the engine's mass rule 2·w·R/Z ≤ tolerance (w = e^ε − 1, R the mass left unrescored);
//   top-1: the smallest prefix whose unrescored mass R satisfies w·R < the smallest absolute gap between the float64
//     top-1 and runner-up masses over the seven ranks (enough for every top-1, optimistic: any rescoring order that
//     does not follow the approximate logits needs more).
import * as ort from "onnxruntime-node";
import { readDataset } from "../synthetic-dataset.ts";
import { GROUP_RANKS } from "../synthetic-tree.ts";
import { ONNX_FLOAT, ONNX_INT8, speciesMajorMatMulModel, withRawInitializers, writeOnnxModel } from "./onnx-writer.ts";

const [speciesPath, queriesPath, queryText, scaleText, toleranceText] = process.argv.slice(2);
if (!speciesPath || !queriesPath) throw new Error("usage: int8-rescoring.ts <species.bin> <queries.bin> [queries] [logitScale] [tolerance]");
const QUERIES = Number(queryText ?? 64);
const SCALE = Number(scaleText ?? 100);
const TOLERANCE = Number(toleranceText ?? 1e-3);
const BATCH = 32;
const CHUNK = 65_536;
const K = 5;
const BIN = 0.01;
const BINS = 8000;
const U = 2 ** -24;
const FLOAT32_TAIL = U * (4 * SCALE + 87) + 2 * 16 * U;
const FLOAT32_BOUND = SCALE * ((768 * U) / (1 - 768 * U) * (1 + U) + 2 * U) + FLOAT32_TAIL;

const log = (line: string) => console.error(`[int8-rescoring ${new Date().toISOString().slice(11, 19)}] ${line}`);
const data = readDataset(speciesPath, queriesPath);
const { dim, species: N } = data.header;
const Q = Math.min(QUERIES, data.queries.length / dim);
log(`${N} species, ${Q} queries, scale ${SCALE}`);

// Scaled float32 queries, as the engine feeds them (it normalises in float64 first; the file holds unit vectors).
const queries = new Float32Array(Q * dim);
for (let q = 0; q < Q; q++) {
  let norm = 0;
  for (let k = 0; k < dim; k++) norm += data.queries[q * dim + k]! ** 2;
  for (let k = 0; k < dim; k++) queries[q * dim + k] = (SCALE * data.queries[q * dim + k]!) / Math.sqrt(norm);
}

// Query-side bound per batch (ORT's per-tensor quantisation of the batch).
function queryResidualBound(batch: Float32Array): { residual: number; quantisedNorm: number } {
  let lo = 0;
  let hi = 0;
  for (const x of batch) {
    lo = Math.min(lo, x);
    hi = Math.max(hi, x);
  }
  const residual = Math.sqrt(dim) * ((hi - lo) / 255) * (0.5 + 2 ** -10);
  let maxNorm = 0;
  for (let q = 0; q < batch.length / dim; q++) {
    let n = 0;
    for (let k = 0; k < dim; k++) n += batch[q * dim + k]! ** 2;
    maxNorm = Math.max(maxNorm, Math.sqrt(n));
  }
  return { residual, quantisedNorm: maxNorm + residual };
}

// Species: symmetric int8 per species, transposed per chunk; residual norms in float64.
let maxSpeciesResidual = 0;
let maxSpeciesNorm = 0;
const f32Logits = Array.from({ length: Q }, () => new Float32Array(N));
const i8Logits = Array.from({ length: Q }, () => new Float32Array(N));
const sessionOptions: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 2, executionMode: "sequential", graphOptimizationLevel: "all" };
const f32Session = await ort.InferenceSession.create(
  speciesMajorMatMulModel(dim),
  sessionOptions,
);
const batches = Array.from({ length: Math.ceil(Q / BATCH) }, (_, b) => queries.subarray(b * BATCH * dim, Math.min(Q, (b + 1) * BATCH) * dim));
const queriesT = batches.map((batch) => {
  const n = batch.length / dim;
  const t = new Float32Array(batch.length);
  for (let q = 0; q < n; q++) for (let k = 0; k < dim; k++) t[k * n + q] = batch[q * dim + k]!;
  return new ort.Tensor("float32", t, [dim, n]);
});
let maxMeasuredError = 0;
for (let start = 0; start < N; start += CHUNK) {
  const rows = Math.min(CHUNK, N - start);
  const speciesT = new Int8Array(rows * dim);
  const colScale = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const y = data.vectors.subarray((start + r) * dim, (start + r + 1) * dim);
    let max = 0;
    let norm = 0;
    for (const v of y) {
      max = Math.max(max, Math.abs(v));
      norm += v * v;
    }
    const s = max / 127;
    colScale[r] = s;
    let residual = 0;
    for (let k = 0; k < dim; k++) {
      const code = Math.round(y[k]! / Math.fround(s));
      speciesT[k * rows + r] = code;
      residual += (y[k]! - Math.fround(s) * code) ** 2;
    }
    maxSpeciesResidual = Math.max(maxSpeciesResidual, Math.sqrt(residual));
    maxSpeciesNorm = Math.max(maxSpeciesNorm, Math.sqrt(norm));
  }
  const i8Session = await ort.InferenceSession.create(
    withRawInitializers(
      writeOnnxModel({
        name: "dqmm",
        opset: 17,
        opsetImports: [{ domain: "com.microsoft", version: 1 }],
        inputs: [{ name: "queries", elemType: ONNX_FLOAT, shape: ["batch", dim] }],
        outputs: [{ name: "logits", elemType: ONNX_FLOAT, shape: ["batch", rows] }],
        nodes: [{ op: "DynamicQuantizeMatMul", domain: "com.microsoft", inputs: ["queries", "species_t", "col_scale"], outputs: ["logits"] }],
      }),
      [
        { name: "species_t", elemType: ONNX_INT8, dims: [dim, rows], raw: new Uint8Array(speciesT.buffer) },
        { name: "col_scale", elemType: ONNX_FLOAT, dims: [rows], raw: new Uint8Array(colScale.buffer) },
      ],
    ),
    sessionOptions,
  );
  const speciesTensor = new ort.Tensor("float32", data.vectors.subarray(start * dim, (start + rows) * dim), [rows, dim]);
  for (const [b, batch] of batches.entries()) {
    const n = batch.length / dim;
    const f = (await f32Session.run({ species: speciesTensor, queries_t: queriesT[b]! })).logits!.data as Float32Array;
    const i = (await i8Session.run({ queries: new ort.Tensor("float32", batch, [n, dim]) })).logits!.data as Float32Array;
    for (let q = 0; q < n; q++) {
      const fq = f32Logits[b * BATCH + q]!;
      const iq = i8Logits[b * BATCH + q]!;
      for (let r = 0; r < rows; r++) {
        fq[start + r] = f[r * n + q]!;
        iq[start + r] = i[q * rows + r]!;
        maxMeasuredError = Math.max(maxMeasuredError, Math.abs(fq[start + r]! - iq[start + r]!));
      }
    }
  }
  await i8Session.release();
  log(`chunk ${start / CHUNK + 1}/${Math.ceil(N / CHUNK)}`);
}
await f32Session.release();

const int8Bound = Math.max(
  ...batches.map((batch) => {
    const { residual, quantisedNorm } = queryResidualBound(batch);
    return residual * maxSpeciesNorm + quantisedNorm * maxSpeciesResidual + 3 * U * quantisedNorm * (maxSpeciesNorm + maxSpeciesResidual) + FLOAT32_TAIL;
  }),
);

interface Counts {
  topK: number;
  tolerance: number;
  top1: number;
  /** Approximate logits at or above which species are in the tolerance / top-1 sets. */
  toleranceFrom: number;
  top1From: number;
}

/** Rescoring needs of one query under a logit bound, ordering by `approx` and weighing by the float32 logits. */
function countsFor(q: number, approx: Float32Array, epsilon: number): Counts {
  const exact = f32Logits[q]!;
  let amax = -Infinity;
  let emax = -Infinity;
  for (let i = 0; i < N; i++) {
    amax = Math.max(amax, approx[i]!);
    emax = Math.max(emax, exact[i]!);
  }
  const count = new Float64Array(BINS);
  const mass = new Float64Array(BINS);
  const top = new Float32Array(K + 1).fill(-Infinity);
  const groupMass = GROUP_RANKS.map((_, r) => new Float64Array(data.tree.groupCounts[r]!));
  let z = 0;
  let best = 0;
  let second = 0;
  for (let i = 0; i < N; i++) {
    const a = approx[i]!;
    const b = Math.min(BINS - 1, Math.floor((amax - a) / BIN));
    const w = Math.exp(exact[i]! - emax);
    count[b]! += 1;
    mass[b]! += w;
    z += w;
    for (let r = 0; r < GROUP_RANKS.length; r++) groupMass[r]![data.tree.groupOf[r]![i]!]! += w;
    if (w > best) [best, second] = [w, best];
    else if (w > second) second = w;
    if (a > top[K]!) {
      let j = K;
      while (j > 0 && top[j - 1]! < a) top[j] = top[--j]!;
      top[j] = a;
    }
  }
  let minGap = best - second;
  for (const m of groupMass) {
    let g1 = 0;
    let g2 = 0;
    for (const v of m) {
      if (v > g1) [g1, g2] = [v, g1];
      else if (v > g2) g2 = v;
    }
    minGap = Math.min(minGap, g1 - g2);
  }
  const w = Math.expm1(epsilon);
  const topKBin = Math.min(BINS - 1, Math.floor((amax - (top[K]! - 2 * epsilon)) / BIN));
  const out: Counts = { topK: 0, tolerance: -1, top1: -1, toleranceFrom: -Infinity, top1From: -Infinity };
  let rescored = 0;
  let rest = z;
  for (let b = 0; b < BINS; b++) {
    if (out.tolerance < 0 && (2 * w * rest) / z <= TOLERANCE) [out.tolerance, out.toleranceFrom] = [rescored, amax - b * BIN];
    if (out.top1 < 0 && w * rest < minGap) [out.top1, out.top1From] = [rescored, amax - b * BIN];
    rescored += count[b]!;
    rest -= mass[b]!;
    if (b === topKBin) out.topK = rescored;
  }
  if (out.tolerance < 0) out.tolerance = N;
  if (out.top1 < 0) out.top1 = N;
  return out;
}

const summary = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return { mean: Math.round(s.reduce((a, b) => a + b, 0) / s.length), median: at(0.5), p90: at(0.9), max: s[s.length - 1]! };
};

const results: Record<string, unknown> = {};
for (const [name, epsilon, approx] of [
  ["float32", FLOAT32_BOUND, f32Logits],
  ["int8", int8Bound, i8Logits],
] as const) {
  const per = Array.from({ length: Q }, (_, q) => countsFor(q, approx[q]!, epsilon));
  /** Species of a batch that at least one of its images needs: what a batched float32 rescoring GEMM would cover. */
  const union = (from: (c: Counts) => number) =>
    batches.map((_, b) => {
      const members = per.slice(b * BATCH, (b + 1) * BATCH);
      let n = 0;
      for (let i = 0; i < N; i++) if (members.some((c, j) => approx[b * BATCH + j]![i]! >= from(c))) n++;
      return n;
    });
  results[name] = {
    batchUnion: { tolerance: union((c) => c.toleranceFrom), top1AllRanks: union((c) => c.top1From) },
    logitBound: epsilon,
    weightBound: Math.expm1(epsilon),
    species: {
      topK: summary(per.map((c) => c.topK)),
      tolerance: summary(per.map((c) => c.tolerance)),
      top1AllRanks: summary(per.map((c) => c.top1)),
      engineFloor: summary(per.map((c) => Math.max(c.topK, c.tolerance))),
    },
  };
  log(`${name} done`);
}
console.log(
  JSON.stringify(
    {
      species: N,
      queries: Q,
      logitScale: SCALE,
      tolerance: TOLERANCE,
      speciesResidualMax: maxSpeciesResidual,
      speciesNormMax: maxSpeciesNorm,
      queryBatchResidualBound: batches.map((b) => queryResidualBound(b).residual / SCALE),
      int8MeasuredMaxLogitError: maxMeasuredError,
      ...results,
    },
    null,
    2,
  ),
);
