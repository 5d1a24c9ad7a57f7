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
  close?(): Promise<void>;
}

/** Unit roundoff of IEEE binary32 and binary64. */
export const UNIT_ROUNDOFF_F32 = 2 ** -24;
export const UNIT_ROUNDOFF_F64 = 2 ** -53;

/** γ_n = n·u / (1 − n·u): the classic bound on the relative error of an n-term dot product (Higham, Thm 3.1). */
export function gamma(n: number, u: number): number {
  return (n * u) / (1 - n * u);
}
