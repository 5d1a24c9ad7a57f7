// PROTOTYPE (benchmark only): the screening GEMM on this CPU, to size what a faster screening pass could gain:
// ONNX Runtime float32 (MatMul + max + exp, as the engine's first graph, and MatMul alone), ONNX Runtime int8
// (MatMulInteger, u8 species × s8 queries → int32, MLAS's VNNI kernels where the CPU has them) and the PyTorch
// baseline's float32 matmul. Same chunk shape as the engine (65,536 species × 768), random data (timing does not
// depend on it).
import * as ort from "onnxruntime-node";
import { writeOnnxModel } from "./onnx-writer.ts";
import { Random } from "../../../lib/prng.ts";
import type { TorchHead } from "../torch-head.ts";

const FLOAT = 1;
const UINT8 = 2;
const INT8 = 3;
const INT64 = 7;
/** Mean species per genus of the benchmark's synthetic tree (≈4.7): genus boundaries for the segment-sum kernel. */
const SPECIES_PER_GENUS = 5;

/**
 * The fold moved into the graph: exp(logits − max) summed per genus natively (ScatterElements with reduction
 * 'add' over lineage-sorted rows), so that a chunk returns B × genera sums (plus its max) instead of B × rows
 * logits and weights for TypeScript to fold one by one.
 */
function genusSumModel(dim: number): Uint8Array {
  return writeOnnxModel({
    name: "arbor_species_genus_sums",
    opset: 17,
    inputs: [
      { name: "species", elemType: FLOAT, shape: ["rows", dim] },
      { name: "queries_t", elemType: FLOAT, shape: [dim, "batch"] },
      { name: "genus_index", elemType: INT64, shape: ["rows", "batch"] },
      { name: "genus_zero", elemType: FLOAT, shape: ["genera", "batch"] },
    ],
    outputs: [
      { name: "chunk_max", elemType: FLOAT, shape: [1, "batch"] },
      { name: "genus_sums", elemType: FLOAT, shape: ["genera", "batch"] },
    ],
    nodes: [
      { op: "MatMul", inputs: ["species", "queries_t"], outputs: ["logits"] },
      { op: "ReduceMax", inputs: ["logits"], outputs: ["chunk_max"], attributes: [{ name: "axes", ints: [0] }, { name: "keepdims", int: 1 }] },
      { op: "Sub", inputs: ["logits", "chunk_max"], outputs: ["shifted"] },
      { op: "Exp", inputs: ["shifted"], outputs: ["weights"] },
      { op: "ScatterElements", inputs: ["genus_zero", "genus_index", "weights"], outputs: ["genus_sums"], attributes: [{ name: "axis", int: 0 }, { name: "reduction", string: "add" }] },
    ],
  });
}

/**
 * Float32 screening as the engine's first graph did it (species-major MatMul, each query's max over the chunk,
 * exp(logits − max)); kept here so that the comparison does not move with the engine's own graph.
 */
function float32ScreeningModel(dim: number, withExp: boolean): Uint8Array {
  return writeOnnxModel({
    name: "arbor_species_screening_f32",
    opset: 17,
    inputs: [
      { name: "species", elemType: FLOAT, shape: ["rows", dim] },
      { name: "queries_t", elemType: FLOAT, shape: [dim, "batch"] },
    ],
    outputs: withExp
      ? [
          { name: "logits", elemType: FLOAT, shape: ["rows", "batch"] },
          { name: "weights", elemType: FLOAT, shape: ["rows", "batch"] },
        ]
      : [{ name: "logits", elemType: FLOAT, shape: ["rows", "batch"] }],
    nodes: [
      { op: "MatMul", inputs: ["species", "queries_t"], outputs: ["logits"] },
      ...(withExp
        ? [
            { op: "ReduceMax", inputs: ["logits"], outputs: ["chunk_max"], attributes: [{ name: "axes", ints: [0] }, { name: "keepdims", int: 1 }] },
            { op: "Sub", inputs: ["logits", "chunk_max"], outputs: ["shifted"] },
            { op: "Exp", inputs: ["shifted"], outputs: ["weights"] },
          ]
        : []),
    ],
  });
}

/** logits[r, q] = row_scale[r] · query_scale[q] · Σ (species_u8[r] − 128) · queries_s8_t[:, q]. */
function int8ScreeningModel(dim: number): Uint8Array {
  return writeOnnxModel({
    name: "arbor_species_screening_int8",
    opset: 17,
    inputs: [
      { name: "species", elemType: UINT8, shape: ["rows", dim] },
      { name: "queries_t", elemType: INT8, shape: [dim, "batch"] },
      { name: "species_zero", elemType: UINT8, shape: [] },
      { name: "row_scale", elemType: FLOAT, shape: ["rows", 1] },
      { name: "query_scale", elemType: FLOAT, shape: [1, "batch"] },
    ],
    outputs: [{ name: "logits", elemType: FLOAT, shape: ["rows", "batch"] }],
    nodes: [
      { op: "MatMulInteger", inputs: ["species", "queries_t", "species_zero"], outputs: ["dots"] },
      { op: "Cast", inputs: ["dots"], outputs: ["dots_f"], attributes: [{ name: "to", int: FLOAT }] },
      { op: "Mul", inputs: ["dots_f", "row_scale"], outputs: ["scaled"] },
      { op: "Mul", inputs: ["scaled", "query_scale"], outputs: ["logits"] },
    ],
  });
}

export interface KernelTiming {
  kernel: string;
  batch: number;
  /** Median over repeats of one chunk, scaled to 1 M species, per image. */
  msPerImagePerMillion: number;
  chunkMs: number[];
}

async function time(run: () => Promise<unknown>, repeats: number): Promise<number[]> {
  await run();
  const out: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t = performance.now();
    await run();
    out.push(performance.now() - t);
  }
  return out;
}

const med = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function screeningKernels(options: { threads: number; batches: number[]; rows: number; repeats: number; torch?: TorchHead }): Promise<KernelTiming[]> {
  const dim = 768;
  const { rows } = options;
  const random = new Random(7, 0x5c);
  const species = new Float32Array(rows * dim);
  for (let i = 0; i < species.length; i++) species[i] = (random.float() - 0.5) * 0.12;
  const speciesU8 = new Uint8Array(rows * dim);
  for (let i = 0; i < speciesU8.length; i++) speciesU8[i] = random.int(0, 255);
  const sessionOptions: ort.InferenceSession.SessionOptions = { intraOpNumThreads: options.threads, executionMode: "sequential", graphOptimizationLevel: "all" };
  const f32 = await ort.InferenceSession.create(float32ScreeningModel(dim, true), sessionOptions);
  const f32Gemm = await ort.InferenceSession.create(float32ScreeningModel(dim, false), sessionOptions);
  const i8 = await ort.InferenceSession.create(int8ScreeningModel(dim), sessionOptions);
  const seg = await ort.InferenceSession.create(genusSumModel(dim), sessionOptions);
  const genusOfRow = Int32Array.from({ length: rows }, (_, r) => Math.floor(r / SPECIES_PER_GENUS));
  const genera = genusOfRow[rows - 1]! + 1;
  const out: KernelTiming[] = [];
  const push = (kernel: string, batch: number, chunkMs: number[]) =>
    out.push({ kernel, batch, chunkMs, msPerImagePerMillion: (med(chunkMs) * (1_000_000 / rows)) / batch });
  try {
    for (const batch of options.batches) {
      const q = new Float32Array(dim * batch).map(() => (random.float() - 0.5) * 0.12);
      const qi8 = new Int8Array(dim * batch).map(() => random.int(-127, 127));
      const rowScale = new Float32Array(rows).fill(1e-3);
      const queryScale = new Float32Array(batch).fill(1e-3);
      const feedsF32 = { species: new ort.Tensor("float32", species, [rows, dim]), queries_t: new ort.Tensor("float32", q, [dim, batch]) };
      const feedsI8 = {
        species: new ort.Tensor("uint8", speciesU8, [rows, dim]),
        queries_t: new ort.Tensor("int8", qi8, [dim, batch]),
        species_zero: new ort.Tensor("uint8", Uint8Array.of(128), []),
        row_scale: new ort.Tensor("float32", rowScale, [rows, 1]),
        query_scale: new ort.Tensor("float32", queryScale, [1, batch]),
      };
      const genusIndex = new BigInt64Array(rows * batch);
      for (let r = 0; r < rows; r++) genusIndex.fill(BigInt(genusOfRow[r]!), r * batch, (r + 1) * batch);
      const feedsSeg = () => ({
        species: feedsF32.species,
        queries_t: feedsF32.queries_t,
        genus_index: new ort.Tensor("int64", genusIndex, [rows, batch]),
        genus_zero: new ort.Tensor("float32", new Float32Array(genera * batch), [genera, batch]),
      });
      // Interleaved repeats: one of each per turn.
      const f: number[] = [];
      const g: number[] = [];
      const i: number[] = [];
      const t: number[] = [];
      const sg: number[] = [];
      await seg.run(feedsSeg());
      await f32.run(feedsF32);
      await f32Gemm.run(feedsF32);
      await i8.run(feedsI8);
      for (let r = 0; r < options.repeats; r++) {
        f.push(...(await time(() => f32.run(feedsF32), 1)));
        g.push(...(await time(() => f32Gemm.run(feedsF32), 1)));
        i.push(...(await time(() => i8.run(feedsI8), 1)));
        sg.push(...(await time(() => seg.run(feedsSeg()), 1)));
        if (options.torch) t.push((await options.torch.request<{ ms: number[] }>({ cmd: "gemm", rows, batch, repeats: 1 })).ms[0]!);
      }
      push("ONNX Runtime float32 MatMul + max + exp (the engine's first screening graph)", batch, f);
      push("ONNX Runtime float32 MatMul alone", batch, g);
      push("ONNX Runtime int8 (MatMulInteger u8×s8, scales)", batch, i);
      push("ONNX Runtime float32 MatMul + max + exp + per-genus sums in the graph (ScatterElements add)", batch, sg);
      if (options.torch) push("PyTorch float32 torch.matmul (baseline's GEMM)", batch, t);
    }
  } finally {
    await f32.release();
    await f32Gemm.release();
    await i8.release();
    await seg.release();
  }
  return out;
}
