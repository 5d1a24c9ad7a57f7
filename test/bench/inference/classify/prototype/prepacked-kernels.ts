// PROTOTYPE (benchmark only): screening kernels whose species chunk is a CONSTANT INITIALIZER of the graph, so that
// ONNX Runtime prepacks it once at session creation (MLAS packed SGEMM for float32, packed u8×s8 GEMM with the
// AVX-512 VNNI kernels for int8), against the engine's current screening graph (species fed as an input every run).
// Query-major (queries [B × dim] × speciesᵀ [dim × rows]): MLAS prepacks only a MatMul's second operand.
// Random data (timing does not depend on it); one chunk of the engine's shape (65,536 species × 768).
import * as ort from "onnxruntime-node";
import { screeningModel } from "../../../../../services/inference/src/classify/scorers/ort-scorer.ts";
import { Random } from "../../../lib/prng.ts";
import { loadAverage } from "../../../lib/machine.ts";
import {
  ONNX_FLOAT,
  ONNX_INT32,
  ONNX_INT64,
  ONNX_INT8,
  ONNX_UINT8,
  speciesMajorMatMulModel,
  withRawInitializers,
  writeOnnxModel,
  type NodeSpec,
  type RawInitializer,
} from "./onnx-writer.ts";

const MS_DOMAIN = "com.microsoft";
const WEIGHT_OFFSET = 87;
const FLT_MIN = 1.1754943508222875e-38;
const TRACKED = 32;

/** The engine's post-processing (max, exp(logit − max + 87), top 32, subnormal count) along the species axis. */
function screeningTail(logits: string, speciesAxis: number): NodeSpec[] {
  return [
    { op: "ReduceMax", inputs: [logits], outputs: ["chunk_max"], attributes: [{ name: "axes", ints: [speciesAxis] }, { name: "keepdims", int: 1 }] },
    { op: "Sub", inputs: [logits, "chunk_max"], outputs: ["shifted"] },
    { op: "Add", inputs: ["shifted", "weight_offset"], outputs: ["raised"] },
    { op: "Exp", inputs: ["raised"], outputs: ["weights"] },
    { op: "TopK", inputs: ["weights", "top_k"], outputs: ["top_weights", "top_rows"], attributes: [{ name: "axis", int: speciesAxis }] },
    { op: "Less", inputs: ["weights", "flt_min"], outputs: ["is_low"] },
    { op: "Cast", inputs: ["is_low"], outputs: ["low"], attributes: [{ name: "to", int: ONNX_FLOAT }] },
    { op: "ReduceSum", inputs: ["low", "species_axis"], outputs: ["underflows"], attributes: [{ name: "keepdims", int: 1 }] },
  ];
}

const tailConstants = (speciesAxis: number) => [
  { name: "weight_offset", elemType: ONNX_FLOAT, dims: [1], float: [WEIGHT_OFFSET] },
  { name: "flt_min", elemType: ONNX_FLOAT, dims: [1], float: [FLT_MIN] },
  { name: "top_k", elemType: ONNX_INT64, dims: [1], int64: [TRACKED] },
  { name: "species_axis", elemType: ONNX_INT64, dims: [1], int64: [speciesAxis] },
] as const;

const tailOutputs = [
  { name: "chunk_max", elemType: ONNX_FLOAT, shape: ["batch", 1] },
  { name: "weights", elemType: ONNX_FLOAT, shape: ["batch", "rows"] },
  { name: "top_weights", elemType: ONNX_FLOAT, shape: ["batch", TRACKED] },
  { name: "top_rows", elemType: ONNX_INT64, shape: ["batch", TRACKED] },
  { name: "underflows", elemType: ONNX_FLOAT, shape: ["batch", 1] },
];

interface KernelSpec {
  readonly name: string;
  readonly model: () => Uint8Array;
  readonly feeds: (batch: number) => Record<string, ort.Tensor>;
}

interface ChunkData {
  readonly rows: number;
  readonly dim: number;
  /** rows × dim, species-major (the engine's index layout). */
  readonly species: Float32Array;
  /** dim × rows, the transposed float32 chunk (initializer). */
  readonly speciesT: Float32Array;
  /** dim × rows int8, symmetric per species (column): speciesT ≈ colScale · speciesTi8. */
  readonly speciesTi8: Int8Array;
  readonly colScale: Float32Array;
}

function makeChunk(rows: number, dim: number, random: Random): ChunkData {
  const species = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    let norm = 0;
    for (let k = 0; k < dim; k++) norm += (species[r * dim + k] = random.gaussian()) ** 2;
    const inv = 1 / Math.sqrt(norm);
    for (let k = 0; k < dim; k++) species[r * dim + k]! *= inv;
  }
  const speciesT = new Float32Array(rows * dim);
  const speciesTi8 = new Int8Array(rows * dim);
  const colScale = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let max = 0;
    for (let k = 0; k < dim; k++) max = Math.max(max, Math.abs(species[r * dim + k]!));
    const scale = max / 127;
    colScale[r] = scale;
    for (let k = 0; k < dim; k++) {
      speciesT[k * rows + r] = species[r * dim + k]!;
      speciesTi8[k * rows + r] = Math.round(species[r * dim + k]! / scale);
    }
  }
  return { rows, dim, species, speciesT, speciesTi8, colScale };
}

const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function kernels(c: ChunkData, random: Random): KernelSpec[] {
  const { rows, dim } = c;
  const f32Init: RawInitializer = { name: "species_t", elemType: ONNX_FLOAT, dims: [dim, rows], raw: bytesOf(c.speciesT) };
  const i8Init: RawInitializer = { name: "species_t", elemType: ONNX_INT8, dims: [dim, rows], raw: bytesOf(c.speciesTi8) };
  const scaleInit: RawInitializer = { name: "col_scale", elemType: ONNX_FLOAT, dims: [rows], raw: bytesOf(c.colScale) };
  const queriesIn = { name: "queries", elemType: ONNX_FLOAT, shape: ["batch", dim] };
  const logitsOut = { name: "logits", elemType: ONNX_FLOAT, shape: ["batch", "rows"] };
  const ms = [{ domain: MS_DOMAIN, version: 1 }];
  const queries = new Map<number, Float32Array>();
  const queriesOf = (batch: number) => {
    let q = queries.get(batch);
    if (!q) {
      q = new Float32Array(batch * dim).map(() => random.gaussian() / Math.sqrt(dim));
      queries.set(batch, q);
    }
    return q;
  };
  const speciesMajorFeeds = (batch: number) => {
    const q = queriesOf(batch);
    const t = new Float32Array(dim * batch);
    for (let b = 0; b < batch; b++) for (let k = 0; k < dim; k++) t[k * batch + b] = q[b * dim + k]!;
    return { species: new ort.Tensor("float32", c.species, [rows, dim]), queries_t: new ort.Tensor("float32", t, [dim, batch]) };
  };
  const f32Queries = (batch: number) => ({ queries: new ort.Tensor("float32", queriesOf(batch), [batch, dim]) });
  const u8Queries = (batch: number) => ({
    queries_u8: new ort.Tensor("uint8", Uint8Array.from(queriesOf(batch), (x) => Math.max(0, Math.min(255, Math.round(x / 1e-3) + 128))), [batch, dim]),
    a_zero: new ort.Tensor("uint8", Uint8Array.of(128), []),
  });
  const dqmm: NodeSpec = { op: "DynamicQuantizeMatMul", domain: MS_DOMAIN, inputs: ["queries", "species_t", "col_scale"], outputs: ["logits"] };
  return [
    {
      name: "float32, species as input (the engine's screening graph, query-major since 2026-11-28: Gemm transB + max + exp + top-k + min)",
      model: () => screeningModel(dim, TRACKED),
      feeds: (batch) => ({ ...f32Queries(batch), species: new ort.Tensor("float32", c.species, [rows, dim]) }),
    },
    {
      name: "float32 MatMul alone, species as input (species-major)",
      model: () => speciesMajorMatMulModel(dim, "f32_input"),
      feeds: speciesMajorFeeds,
    },
    {
      name: "float32, species as input, query-major (Gemm transB + max + exp + top-k along the species axis)",
      model: () =>
        writeOnnxModel({
          name: "f32_input_query_major",
          opset: 17,
          inputs: [queriesIn, { name: "species", elemType: ONNX_FLOAT, shape: ["rows", dim] }],
          outputs: tailOutputs,
          constants: tailConstants(1),
          nodes: [{ op: "Gemm", inputs: ["queries", "species"], outputs: ["logits"], attributes: [{ name: "transB", int: 1 }] }, ...screeningTail("logits", 1)],
        }),
      feeds: (batch) => ({ ...f32Queries(batch), species: new ort.Tensor("float32", c.species, [rows, dim]) }),
    },
    {
      name: "float32 MatMul alone, speciesᵀ initializer (prepacked SGEMM)",
      model: () =>
        withRawInitializers(
          writeOnnxModel({ name: "f32_init", opset: 17, inputs: [queriesIn], outputs: [logitsOut], nodes: [{ op: "MatMul", inputs: ["queries", "species_t"], outputs: ["logits"] }] }),
          [f32Init],
        ),
      feeds: f32Queries,
    },
    {
      name: "float32, speciesᵀ initializer + max + exp + top-k (engine-shaped)",
      model: () =>
        withRawInitializers(
          writeOnnxModel({
            name: "f32_init_screening",
            opset: 17,
            inputs: [queriesIn],
            outputs: tailOutputs,
            constants: tailConstants(1),
            nodes: [{ op: "MatMul", inputs: ["queries", "species_t"], outputs: ["logits"] }, ...screeningTail("logits", 1)],
          }),
          [f32Init],
        ),
      feeds: f32Queries,
    },
    {
      name: "int8 DynamicQuantizeMatMul, speciesᵀ int8 initializer, per-species scales",
      model: () =>
        withRawInitializers(writeOnnxModel({ name: "dqmm", opset: 17, opsetImports: ms, inputs: [queriesIn], outputs: [logitsOut], nodes: [dqmm] }), [i8Init, scaleInit]),
      feeds: f32Queries,
    },
    {
      name: "int8 DynamicQuantizeLinear + MatMulInteger + Cast + scale Muls, int8 initializer",
      model: () =>
        withRawInitializers(
          writeOnnxModel({
            name: "dql_mmi",
            opset: 17,
            inputs: [queriesIn],
            outputs: [logitsOut],
            nodes: [
              { op: "DynamicQuantizeLinear", inputs: ["queries"], outputs: ["q_u8", "q_scale", "q_zero"] },
              { op: "MatMulInteger", inputs: ["q_u8", "species_t", "q_zero"], outputs: ["dots"] },
              { op: "Cast", inputs: ["dots"], outputs: ["dots_f"], attributes: [{ name: "to", int: ONNX_FLOAT }] },
              { op: "Mul", inputs: ["dots_f", "col_scale"], outputs: ["scaled"] },
              { op: "Mul", inputs: ["scaled", "q_scale"], outputs: ["logits"] },
            ],
          }),
          [i8Init, scaleInit],
        ),
      feeds: f32Queries,
    },
    {
      name: "int8 MatMulIntegerToFloat, u8 queries (input) × int8 initializer, per-species scales",
      model: () =>
        withRawInitializers(
          writeOnnxModel({
            name: "mmitf",
            opset: 17,
            opsetImports: ms,
            inputs: [
              { name: "queries_u8", elemType: ONNX_UINT8, shape: ["batch", dim] },
              { name: "a_zero", elemType: ONNX_UINT8, shape: [] },
            ],
            outputs: [logitsOut],
            constants: [{ name: "a_scale", elemType: ONNX_FLOAT, dims: [], float: [1e-3] }],
            nodes: [
              { op: "MatMulIntegerToFloat", domain: MS_DOMAIN, inputs: ["queries_u8", "species_t", "a_scale", "col_scale", "a_zero"], outputs: ["logits"] },
            ],
          }),
          [i8Init, scaleInit],
        ),
      feeds: u8Queries,
    },
    {
      name: "int8 MatMulInteger alone → int32, u8 queries (input) × int8 initializer",
      model: () =>
        withRawInitializers(
          writeOnnxModel({
            name: "mmi_int32",
            opset: 17,
            inputs: [
              { name: "queries_u8", elemType: ONNX_UINT8, shape: ["batch", dim] },
              { name: "a_zero", elemType: ONNX_UINT8, shape: [] },
            ],
            outputs: [{ name: "dots", elemType: ONNX_INT32, shape: ["batch", "rows"] }],
            nodes: [{ op: "MatMulInteger", inputs: ["queries_u8", "species_t", "a_zero"], outputs: ["dots"] }],
          }),
          [i8Init],
        ),
      feeds: u8Queries,
    },
    {
      name: "int8 DynamicQuantizeMatMul + max + exp + top-k (engine-shaped)",
      model: () =>
        withRawInitializers(
          writeOnnxModel({
            name: "dqmm_screening",
            opset: 17,
            opsetImports: ms,
            inputs: [queriesIn],
            outputs: tailOutputs,
            constants: tailConstants(1),
            nodes: [dqmm, ...screeningTail("logits", 1)],
          }),
          [i8Init, scaleInit],
        ),
      feeds: f32Queries,
    },
  ];
}

export interface PrepackedTiming {
  kernel: string;
  batch: number;
  /** Median over turns of one chunk run, scaled to 1 M species, per image. */
  msPerImagePerMillion: number;
  /** The engine's current graph (the first kernel) over this one, same batch. */
  speedupOverEngineGraph: number;
  chunkMs: number[];
  /** Largest |logit − float64 logit| over the chunk's first rows at this batch (unscaled dot products of unit vectors; NaN for graphs returning weights). */
  maxDotError: number;
  /** Session creation (model parse + prepacking), ms. */
  createMs: number;
  /** Resident memory the session kept after creation (its initializers, packed or not), MiB. */
  sessionMiB: number;
  loadAverage: { start: number[]; end: number[] };
}

/** Rows of the chunk checked against float64 (all of them would take minutes in JavaScript). */
const CHECKED_ROWS = 2048;

/**
 * Largest |logit − float64 logit| of each kernel at one batch size, over the first CHECKED_ROWS species (the
 * u8-input kernels' queries are quantised at 1e-3 and scaled back here).
 */
async function kernelErrors(specs: KernelSpec[], sessions: ort.InferenceSession[], feeds: Record<string, ort.Tensor>[], c: ChunkData, batch: number): Promise<number[]> {
  const q = feeds.find((f) => f.queries)!.queries!.data as Float32Array;
  return Promise.all(
    specs.map(async (spec, k) => {
      const out = await sessions[k]!.run(feeds[k]!);
      const isInt = out.dots !== undefined;
      const result = (out.logits ?? out.dots ?? out.weights)!;
      if (out.weights && !out.logits) return Number.NaN; // the engine-shaped graphs return weights, not logits
      const data = result.data as Float32Array | Int32Array;
      const speciesMajor = spec.name.includes("species-major");
      let worst = 0;
      for (let b = 0; b < batch; b++)
        for (let r = 0; r < Math.min(c.rows, CHECKED_ROWS); r++) {
          let exact = 0;
          for (let i = 0; i < c.dim; i++) exact += q[b * c.dim + i]! * c.species[r * c.dim + i]!;
          let got = data[speciesMajor ? r * batch + b : b * c.rows + r]!;
          if (isInt) got = got * 1e-3 * c.colScale[r]!;
          worst = Math.max(worst, Math.abs(got - exact));
        }
      return worst;
    }),
  );
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/**
 * Every kernel once per turn (order rotated each turn, so that none always follows the same one and a chunk is
 * evicted from cache between two runs of a kernel), `turns` turns per batch size.
 */
export async function prepackedKernels(options: { threads: number; batches: number[]; rows: number; turns: number; log?: (line: string) => void }): Promise<PrepackedTiming[]> {
  const dim = 768;
  const random = new Random(11, 0x1a);
  const chunk = makeChunk(options.rows, dim, random);
  const specs = kernels(chunk, random);
  const sessionOptions: ort.InferenceSession.SessionOptions = { intraOpNumThreads: options.threads, executionMode: "sequential", graphOptimizationLevel: "all" };
  const sessions: ort.InferenceSession[] = [];
  const createMs: number[] = [];
  const sessionMiB: number[] = [];
  const out: PrepackedTiming[] = [];
  try {
    for (const spec of specs) {
      const t = performance.now();
      const model = spec.model();
      const rss = process.memoryUsage.rss();
      sessions.push(await ort.InferenceSession.create(model, sessionOptions));
      createMs.push(performance.now() - t);
      sessionMiB.push((process.memoryUsage.rss() - rss) / 2 ** 20);
    }
    for (const batch of options.batches) {
      const start = loadAverage();
      const feeds = specs.map((s) => s.feeds(batch));
      const errors = await kernelErrors(specs, sessions, feeds, chunk, batch);
      const ms = specs.map(() => [] as number[]);
      for (let turn = 0; turn < options.turns; turn++) {
        for (let j = 0; j < specs.length; j++) {
          const k = (j + turn) % specs.length;
          const t = performance.now();
          await sessions[k]!.run(feeds[k]!);
          ms[k]!.push(performance.now() - t);
        }
        options.log?.(`batch ${batch}: turn ${turn + 1}/${options.turns}, load ${loadAverage()[0].toFixed(2)}`);
      }
      const end = loadAverage();
      const perImage = ms.map((m) => (median(m) * (1_000_000 / options.rows)) / batch);
      specs.forEach((s, k) =>
        out.push({
          kernel: s.name,
          batch,
          msPerImagePerMillion: perImage[k]!,
          speedupOverEngineGraph: perImage[0]! / perImage[k]!,
          chunkMs: ms[k]!,
          maxDotError: errors[k]!,
          createMs: createMs[k]!,
          sessionMiB: sessionMiB[k]!,
          loadAverage: { start, end },
        }),
      );
    }
  } finally {
    for (const s of sessions) await s.release();
  }
  return out;
}
