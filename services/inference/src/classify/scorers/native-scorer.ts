import { availableParallelism } from 'node:os';

import { rangeRows } from '../candidates.ts';
import { nativeScreening, type NativeScreening } from '../kernels/index.ts';
import type { SpeciesIndex } from '../species-index.ts';
import { WeightBufferPool } from './weight-buffer-pool.ts';
import { DEFAULT_TRACKED, float32ScreeningBound, scaledQueries, speciesRows, UNIT_ROUNDOFF_F32, WEIGHT_OFFSET, type ScoredChunk, type ScorerErrorBound, type SpeciesScorer } from './scorer.ts';

/** AVX-512 lanes per dot product: each lane sums dim / 16 terms, then a 4-level tree joins the 16 lanes. */
const LANES = 16;
const LANE_TREE_DEPTH = 4;
/** glibc libmvec's float32 exp is accurate to a few ulp: the same margin as for ONNX Runtime's (16u). */
const EXP_RELATIVE_ERROR = 16 * UNIT_ROUNDOFF_F32;

export interface NativeSpeciesScorerOptions {
  readonly chunkRows?: number;
  /** Threads per chunk (default: the machine's cores). */
  readonly threads?: number;
}

/**
 * Screening in the native addon (`services/inference/native/screening_kernel.c`): the same outputs as the ONNX
 * Runtime graph, from float32 dot products summed in a known order (16 lanes of dim/16 FMA steps, then a fixed
 * reduction). That order bounds the error by γ_(dim/16+4) instead of the γ_dim an unknown (sequential) order needs —
 * 52 against 768 roundings at dim 768, ≈ 15× tighter — so far fewer species need float64 rescoring for the same
 * tolerance. Needs the addon, a CPU with AVX-512F and a dimension that is a multiple of 16 (`NativeSpeciesScorer.unavailable`).
 */
export class NativeSpeciesScorer implements SpeciesScorer {
  readonly name = 'native-float32-lanes';
  readonly chunkRows: number;
  private readonly threads: number;
  private readonly screening: NativeScreening;
  private readonly weightBuffers = new WeightBufferPool();

  /** Why the scorer cannot run here (for embeddings of `dim` when given), or undefined when it can. */
  static unavailable(dim?: number): string | undefined {
    if (dim !== undefined && dim % LANES !== 0) return `the embedding dimension ${dim} is not a multiple of ${LANES}`;
    const screening = nativeScreening();
    if (!screening) return 'the native classify kernels are not loaded';
    return screening.screenChunkSupported() ? undefined : 'this CPU lacks AVX-512F or FMA';
  }

  constructor(options: NativeSpeciesScorerOptions = {}) {
    const reason = NativeSpeciesScorer.unavailable();
    if (reason) throw new Error(`NativeSpeciesScorer: ${reason}`);
    this.screening = nativeScreening()!;
    this.chunkRows = options.chunkRows ?? 65_536;
    this.threads = options.threads ?? availableParallelism();
  }

  errorBound(logitScale: number, dim: number): ScorerErrorBound {
    if (dim % LANES !== 0) throw new RangeError(`NativeSpeciesScorer needs a dimension that is a multiple of ${LANES}, got ${dim}`);
    return float32ScreeningBound(logitScale, dim / LANES + LANE_TREE_DEPTH, EXP_RELATIVE_ERROR);
  }

  async score(index: SpeciesIndex, queries: Float64Array, queryCount: number, ranges: Int32Array, logitScale: number, topK: number): Promise<ScoredChunk> {
    const dim = index.dim;
    const rows = rangeRows(ranges);
    const topCount = Math.min(rows, Math.max(DEFAULT_TRACKED, topK));
    const chunkMax = new Float32Array(queryCount);
    const weights = this.weightBuffers.take(queryCount * rows);
    const topWeights = new Float32Array(queryCount * topCount);
    const topRows = new Int32Array(queryCount * topCount);
    const minWeights = new Float32Array(queryCount);
    this.screening.screenChunk(
      speciesRows(index, ranges, rows),
      scaledQueries(queries, queryCount, dim, logitScale),
      dim,
      WEIGHT_OFFSET,
      this.threads,
      chunkMax,
      weights,
      topWeights,
      topRows,
      minWeights,
    );
    return { queryStride: rows, speciesStride: 1, chunkMax, weights, weightOffset: WEIGHT_OFFSET, topWeights, topRows, topCount, minWeights };
  }

  recycle(chunks: readonly ScoredChunk[]): void {
    this.weightBuffers.giveBack(chunks.flatMap((c) => (c.weights ? [c.weights] : [])));
  }
}
