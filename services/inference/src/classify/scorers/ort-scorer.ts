import * as ort from 'onnxruntime-node';
import { rangeRows } from '../candidates.ts';
import type { SpeciesIndex } from '../species-index.ts';
import { writeOnnxModel, ONNX_FLOAT } from './onnx-graph-writer.ts';
import { gamma, UNIT_ROUNDOFF_F32, type ScoredChunk, type ScorerErrorBound, type SpeciesScorer } from './scorer.ts';

export interface OrtSpeciesScorerOptions {
  /** Species rows per run. 65,536 rows × 768 = 192 MiB of species data and 256 KiB of logits per image. */
  readonly chunkRows?: number;
  readonly intraOpNumThreads?: number;
  /** For deployments that configure sessions centrally (execution providers, threads). */
  readonly createSession?: (model: Uint8Array) => Promise<ort.InferenceSession>;
}

/** Relative error of MLAS's vectorised float32 exp, with margin (it is accurate to a few ulp). */
const EXP_RELATIVE_ERROR = 16 * UNIT_ROUNDOFF_F32;

/**
 * The screening graph, species-major: logits[r, q] = species[r] · queries_t[:, q] (float32 MatMul; the queries come
 * pre-scaled by logitScale), each query's max over the chunk, and exp(logits − max). Species-major keeps the big
 * operand in its stored row layout and measured faster than Gemm with transB here.
 */
export function screeningModel(dim: number): Uint8Array {
  return writeOnnxModel({
    name: 'arbor_species_screening',
    opset: 17,
    inputs: [
      { name: 'species', elemType: ONNX_FLOAT, shape: ['rows', dim] },
      { name: 'queries_t', elemType: ONNX_FLOAT, shape: [dim, 'batch'] },
    ],
    outputs: [
      { name: 'logits', elemType: ONNX_FLOAT, shape: ['rows', 'batch'] },
      { name: 'chunk_max', elemType: ONNX_FLOAT, shape: [1, 'batch'] },
      { name: 'weights', elemType: ONNX_FLOAT, shape: ['rows', 'batch'] },
    ],
    nodes: [
      { op: 'MatMul', inputs: ['species', 'queries_t'], outputs: ['logits'] },
      { op: 'ReduceMax', inputs: ['logits'], outputs: ['chunk_max'], attributes: [{ name: 'axes', ints: [0] }, { name: 'keepdims', int: 1 }] },
      { op: 'Sub', inputs: ['logits', 'chunk_max'], outputs: ['shifted'] },
      { op: 'Exp', inputs: ['shifted'], outputs: ['weights'] },
    ],
  });
}

/**
 * Screening with ONNX Runtime's float32 GEMM (MLAS, AVX-512 where available), on zero-copy views of the index's
 * species rows. Float32 logits are only a filter: the engine rescores whatever they cannot decide.
 */
export class OrtSpeciesScorer implements SpeciesScorer {
  readonly name = 'onnxruntime-float32';
  readonly chunkRows: number;
  private sessions = new Map<string, Promise<ort.InferenceSession>>();

  constructor(private readonly options: OrtSpeciesScorerOptions = {}) {
    this.chunkRows = options.chunkRows ?? 65_536;
  }

  errorBound(logitScale: number, dim: number): ScorerErrorBound {
    // Dot product of length dim in float32 (any order, with or without FMA): γ_dim·Σ|x_k y_k| ≤ γ_dim·‖x‖‖y‖ for
    // unit vectors. Rounding the scaled float64 query to float32 adds u·‖x‖‖y‖; logits − max adds u·2·scale.
    // The engine also reads logits back from the float32 weights (ln w), which adds the exp's relative error.
    const logit = logitScale * (gamma(dim, UNIT_ROUNDOFF_F32) * (1 + UNIT_ROUNDOFF_F32) + 2 * UNIT_ROUNDOFF_F32) + 2 * UNIT_ROUNDOFF_F32 * logitScale + 2 * EXP_RELATIVE_ERROR;
    return { logit, weight: Math.expm1(logit) + EXP_RELATIVE_ERROR * Math.exp(logit) };
  }

  private session(dim: number): Promise<ort.InferenceSession> {
    const key = `${dim}`;
    let s = this.sessions.get(key);
    if (!s) {
      const model = screeningModel(dim);
      s = this.options.createSession
        ? this.options.createSession(model)
        : ort.InferenceSession.create(model, {
            intraOpNumThreads: this.options.intraOpNumThreads ?? 0,
            executionMode: 'sequential',
            graphOptimizationLevel: 'all',
          });
      this.sessions.set(key, s);
    }
    return s;
  }

  async score(index: SpeciesIndex, queries: Float64Array, queryCount: number, ranges: Int32Array, logitScale: number): Promise<ScoredChunk> {
    const dim = index.dim;
    const session = await this.session(dim);
    const queriesT = new Float32Array(dim * queryCount);
    for (let q = 0; q < queryCount; q++) for (let k = 0; k < dim; k++) queriesT[k * queryCount + q] = logitScale * queries[q * dim + k];
    const rows = rangeRows(ranges);
    const out = await session.run({
      species: new ort.Tensor('float32', speciesRows(index, ranges, rows), [rows, dim]),
      queries_t: new ort.Tensor('float32', queriesT, [dim, queryCount]),
    });
    return {
      logits: out.logits.data as Float32Array,
      queryStride: 1,
      speciesStride: queryCount,
      chunkMax: out.chunk_max.data as Float32Array,
      weights: out.weights.data as Float32Array,
    };
  }

  async close(): Promise<void> {
    for (const s of this.sessions.values()) await (await s).release();
    this.sessions.clear();
  }
}

/** The rows of a chunk: a zero-copy view when it is one range (the common case), else gathered into one buffer. */
function speciesRows(index: SpeciesIndex, ranges: Int32Array, rows: number): Float32Array {
  const dim = index.dim;
  if (ranges.length === 2) return index.vectors.subarray(ranges[0] * dim, ranges[1] * dim);
  const out = new Float32Array(rows * dim);
  let at = 0;
  for (let r = 0; r < ranges.length; r += 2) {
    out.set(index.vectors.subarray(ranges[r] * dim, ranges[r + 1] * dim), at);
    at += (ranges[r + 1] - ranges[r]) * dim;
  }
  return out;
}
