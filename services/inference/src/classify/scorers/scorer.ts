import type { SpeciesIndex } from '../species-index.ts';

/**
 * Approximate logits of every query against a block of species rows. Entry (query q, species i of the chunk) is at
 * `q · queryStride + i · speciesStride`: query-major (stride 1 along species) or species-major (stride = queries).
 */
export interface ScoredChunk {
  /** Required unless `weights` and `chunkMax` are given. */
  readonly logits?: Float32Array | Float64Array;
  readonly queryStride: number;
  readonly speciesStride: number;
  /**
   * Optional, from backends that exponentiate natively: weights = exp(logits − chunkMax[q] + weightOffset), same
   * layout. The offset (e.g. 87) moves float32's range so that weights far below the max stay normal numbers.
   * When absent the engine computes exp in float64 from `logits`. Where a weight is subnormal, the engine recomputes
   * that species' logit in float64.
   */
  readonly weights?: Float32Array;
  readonly weightOffset?: number;
  readonly chunkMax?: Float32Array | Float64Array;
  /**
   * Optional, with `weights`: the `topK` largest weights of the chunk per query (queries × topK, each query's list
   * contiguous), and per query the smallest weight. With both, and no weight below FLT_MIN (subnormal or zero), the
   * engine's per-species work is a single add.
   */
  readonly topWeights?: Float32Array;
  /** Row (within the chunk) of each top weight. */
  readonly topRows?: Int32Array;
  readonly topCount?: number;
  readonly minWeights?: Float32Array;
}

export interface ScorerErrorBound {
  /** Largest |approximate logit − float64 logit| over any species, for unit vectors. */
  readonly logit: number;
  /** Largest relative error of a weight, i.e. of exp(approximate logit − ref) against exp(float64 logit − ref). */
  readonly weight: number;
}

/**
 * The screening pass of tree-of-life classification: the one place that touches all N species. Exactness does not
 * depend on it beyond `errorBound`: the engine rescoring step recomputes every decisive logit in float64.
 */
export interface SpeciesScorer {
  readonly name: string;
  /** Species rows per call: large enough to amortise call overhead, small enough to bound the logits buffer. */
  readonly chunkRows: number;
  errorBound(logitScale: number, dim: number): ScorerErrorBound;
  /**
   * @param queries queryCount × dim unit vectors, computed in float64.
   * @param ranges the chunk's species as [start, end) position pairs; logits follow that order.
   * @param topK how many of the largest weights per query the engine tracks (backends may report them).
   */
  score(index: SpeciesIndex, queries: Float64Array, queryCount: number, ranges: Int32Array, logitScale: number, topK: number): Promise<ScoredChunk>;
  /**
   * The caller is done with these chunks (from this scorer's `score`) and will not read them again: a scorer may
   * reuse their buffers for later calls.
   */
  recycle?(chunks: readonly ScoredChunk[]): void;
  close?(): Promise<void>;
}

/** Unit roundoff of IEEE binary32 and binary64. */
export const UNIT_ROUNDOFF_F32 = 2 ** -24;
export const UNIT_ROUNDOFF_F64 = 2 ** -53;

/** γ_n = n·u / (1 − n·u): the classic bound on the relative error of an n-term dot product (Higham, Thm 3.1). */
export function gamma(n: number, u: number): number {
  return (n * u) / (1 - n * u);
}

/**
 * The float32 screening backends report weights exp(logit − chunk max + 87): at most e^87 ≈ 6e37 (below float32's
 * 3.4e38), and a species stays a normal float32 down to 174 logits below the max instead of 87, so the engine's fast
 * path almost never meets a subnormal.
 */
export const WEIGHT_OFFSET = 87;

/** Top weights a float32 backend reports per chunk and query unless more are asked for (the engine tracks k + 25). */
export const DEFAULT_TRACKED = 32;

/**
 * Error bound of a float32 screening backend whose dot products put each of their terms through at most
 * `roundingsPerTerm` roundings (γ over Σ|x_k y_k| ≤ ‖x‖‖y‖ for unit vectors), on queries pre-scaled by logitScale in
 * float32 (one rounding each, u·‖x‖‖y‖), with weights exp(logit − max + WEIGHT_OFFSET) whose shift rounds in float32
 * (u·(2·scale + offset), counted twice for reading logits back as ln w) and whose exp is within `expRelativeError`.
 */
export function float32ScreeningBound(logitScale: number, roundingsPerTerm: number, expRelativeError: number): ScorerErrorBound {
  const logit =
    logitScale * (gamma(roundingsPerTerm, UNIT_ROUNDOFF_F32) * (1 + UNIT_ROUNDOFF_F32) + 2 * UNIT_ROUNDOFF_F32) +
    UNIT_ROUNDOFF_F32 * (4 * logitScale + WEIGHT_OFFSET) +
    2 * expRelativeError;
  return { logit, weight: Math.expm1(logit) + expRelativeError * Math.exp(logit) };
}

/** Queries × logitScale in float32, as both float32 backends take them. */
export function scaledQueries(queries: Float64Array, count: number, dim: number, logitScale: number): Float32Array {
  const scaled = new Float32Array(dim * count);
  for (let i = 0; i < scaled.length; i++) scaled[i] = logitScale * queries[i];
  return scaled;
}

/** The rows of a chunk: a zero-copy view when it is one range (the common case), else gathered into one buffer. */
export function speciesRows(index: SpeciesIndex, ranges: Int32Array, rows: number): Float32Array {
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
