import * as ort from 'onnxruntime-node';
import { rangeRows } from '../candidates.ts';
import type { SpeciesIndex } from '../species-index.ts';
import { writeOnnxModel, ONNX_FLOAT, ONNX_INT64 } from './onnx-graph-writer.ts';
import { DEFAULT_TRACKED, float32ScreeningBound, scaledQueries, speciesRows, UNIT_ROUNDOFF_F32, WEIGHT_OFFSET, type ScoredChunk, type ScorerErrorBound, type SpeciesScorer } from './scorer.ts';

export interface OrtSpeciesScorerOptions {
  /** Species rows per run. 65,536 rows × 768 = 192 MiB of species data and 256 KiB of logits per image. */
  readonly chunkRows?: number;
  readonly intraOpNumThreads?: number;
  /**
   * Let ONNX Runtime's idle pool threads spin between parallel sections (its own default). Off unless asked, as in the
   * inference service (INFERENCE_SPIN_WAIT): a spinning session's idle threads take the cores that other sessions of
   * the process need for their runs.
   */
  readonly spinWait?: boolean;
  /** For deployments that configure sessions centrally (execution providers, threads). */
  readonly createSession?: (model: Uint8Array) => Promise<ort.InferenceSession>;
}

/** Relative error of MLAS's vectorised float32 exp, with margin (it is accurate to a few ulp). */
const EXP_RELATIVE_ERROR = 16 * UNIT_ROUNDOFF_F32;

/**
 * The screening graph, query-major: logits[q, r] = queries[q] · species[r] (float32 Gemm with transB; the queries
 * come pre-scaled by logitScale), each query's max over the chunk, weights exp(logits − max + 87), their top k and
 * each image's smallest weight (the engine's fast path needs it to be a normal float32). Query-major keeps each
 * image's scores contiguous, so the max, exp and top-k run along rows: with species-major logits (MatMul
 * species · queriesᵀ) that tail cost as much as the GEMM itself (28 against 17 ms per image and 1 M species at
 * batch 32, test/bench/inference/classify/prototype).
 */
export function screeningModel(dim: number, topK = DEFAULT_TRACKED): Uint8Array {
  return writeOnnxModel({
    name: 'arbor_species_screening',
    opset: 17,
    inputs: [
      { name: 'queries', elemType: ONNX_FLOAT, shape: ['batch', dim] },
      { name: 'species', elemType: ONNX_FLOAT, shape: ['rows', dim] },
    ],
    outputs: [
      { name: 'chunk_max', elemType: ONNX_FLOAT, shape: ['batch', 1] },
      { name: 'weights', elemType: ONNX_FLOAT, shape: ['batch', 'rows'] },
      { name: 'top_weights', elemType: ONNX_FLOAT, shape: ['batch', 'k'] },
      { name: 'top_rows', elemType: ONNX_INT64, shape: ['batch', 'k'] },
      { name: 'min_weights', elemType: ONNX_FLOAT, shape: ['batch', 1] },
    ],
    constants: [
      { name: 'weight_offset', elemType: ONNX_FLOAT, dims: [1], float: [WEIGHT_OFFSET] },
      { name: 'top_k_max', elemType: ONNX_INT64, dims: [1], int64: [topK] },
      { name: 'axis_1', elemType: ONNX_INT64, dims: [1], int64: [1] },
      { name: 'axis_2', elemType: ONNX_INT64, dims: [1], int64: [2] },
    ],
    nodes: [
      { op: 'Gemm', inputs: ['queries', 'species'], outputs: ['logits'], attributes: [{ name: 'transB', int: 1 }] },
      { op: 'ReduceMax', inputs: ['logits'], outputs: ['chunk_max'], attributes: [{ name: 'axes', ints: [1] }, { name: 'keepdims', int: 1 }] },
      { op: 'Sub', inputs: ['logits', 'chunk_max'], outputs: ['shifted'] },
      { op: 'Add', inputs: ['shifted', 'weight_offset'], outputs: ['raised'] },
      { op: 'Exp', inputs: ['raised'], outputs: ['weights'] },
      // TopK needs k ≤ rows: k = min(top_k_max, rows of this chunk).
      { op: 'Shape', inputs: ['weights'], outputs: ['shape'] },
      { op: 'Slice', inputs: ['shape', 'axis_1', 'axis_2'], outputs: ['rows'] },
      { op: 'Min', inputs: ['rows', 'top_k_max'], outputs: ['top_k'] },
      { op: 'TopK', inputs: ['weights', 'top_k'], outputs: ['top_weights', 'top_rows'], attributes: [{ name: 'axis', int: 1 }] },
      { op: 'ReduceMin', inputs: ['weights'], outputs: ['min_weights'], attributes: [{ name: 'axes', ints: [1] }, { name: 'keepdims', int: 1 }] },
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
    // MLAS accumulates each output sequentially over all dim terms (with or without FMA): γ_dim (float32ScreeningBound).
    return float32ScreeningBound(logitScale, dim, EXP_RELATIVE_ERROR);
  }

  private session(dim: number, topK: number): Promise<ort.InferenceSession> {
    const key = `${dim}/${topK}`;
    let s = this.sessions.get(key);
    if (!s) {
      const model = screeningModel(dim, topK);
      s = this.options.createSession ? this.options.createSession(model) : ort.InferenceSession.create(model, screeningSessionOptions(this.options));
      this.sessions.set(key, s);
    }
    return s;
  }

  async score(index: SpeciesIndex, queries: Float64Array, queryCount: number, ranges: Int32Array, logitScale: number, topK: number): Promise<ScoredChunk> {
    const dim = index.dim;
    // One graph per power of two of the tracked count, so that any k reuses a session.
    const tracked = Math.max(DEFAULT_TRACKED, 2 ** Math.ceil(Math.log2(Math.max(1, topK))));
    const session = await this.session(dim, tracked);
    const scaled = scaledQueries(queries, queryCount, dim, logitScale);
    const rows = rangeRows(ranges);
    const out = await session.run({
      queries: new ort.Tensor('float32', scaled, [queryCount, dim]),
      species: new ort.Tensor('float32', speciesRows(index, ranges, rows), [rows, dim]),
    });
    return {
      queryStride: rows,
      speciesStride: 1,
      chunkMax: out.chunk_max.data as Float32Array,
      weights: out.weights.data as Float32Array,
      weightOffset: WEIGHT_OFFSET,
      topWeights: out.top_weights.data as Float32Array,
      topRows: Int32Array.from(out.top_rows.data as BigInt64Array, Number),
      topCount: out.top_weights.dims[1],
      minWeights: out.min_weights.data as Float32Array,
    };
  }

  async close(): Promise<void> {
    for (const s of this.sessions.values()) await (await s).release();
    this.sessions.clear();
  }
}

/** Session options of the screening graph when the scorer creates its own sessions. */
export function screeningSessionOptions(options: OrtSpeciesScorerOptions): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: options.intraOpNumThreads ?? 0,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    ...(options.spinWait ? {} : { extra: { 'session.intra_op.allow_spinning': '0' } }),
  };
}
