import { rangeRows } from '../candidates.ts';
import { dotFloat64 } from '../vectors.ts';
import type { SpeciesIndex } from '../species-index.ts';
import { gamma, UNIT_ROUNDOFF_F64, type ScoredChunk, type ScorerErrorBound, type SpeciesScorer } from './scorer.ts';

/** Rows per cache block: 32 × 768 × 4 B = 96 KiB, stays in L2 while every query passes over it. */
const BLOCK_ROWS = 32;

/**
 * Pure TypeScript scorer. JavaScript arithmetic is float64 and float32 × float64 products are exact, so its logits
 * are already float64 logits: nothing needs rescoring, but it runs at ≈1 µs per species per query (scalar code).
 * The right choice for small indexes (custom subsets, tests); the ONNX Runtime scorer is for the full tree.
 */
export class JsSpeciesScorer implements SpeciesScorer {
  readonly name = 'js-float64';
  readonly chunkRows: number;

  constructor(options: { chunkRows?: number } = {}) {
    this.chunkRows = options.chunkRows ?? 16_384;
  }

  errorBound(logitScale: number, dim: number): ScorerErrorBound {
    // Σ|x_k y_k| ≤ ‖x‖‖y‖ ≈ 1 for unit vectors; the scaling by logitScale adds one more rounding.
    const logit = logitScale * (gamma(dim + 1, UNIT_ROUNDOFF_F64) * 1.001);
    return { logit, weight: Math.expm1(logit + 4 * UNIT_ROUNDOFF_F64 * logitScale) + 4 * UNIT_ROUNDOFF_F64 };
  }

  async score(index: SpeciesIndex, queries: Float64Array, queryCount: number, ranges: Int32Array, logitScale: number, _topK: number): Promise<ScoredChunk> {
    const dim = index.dim;
    const rows = rangeRows(ranges);
    const logits = new Float64Array(queryCount * rows);
    const v = index.vectors;
    let column = 0;
    for (let r = 0; r < ranges.length; r += 2) {
      for (let b0 = ranges[r]; b0 < ranges[r + 1]; b0 += BLOCK_ROWS) {
        const b1 = Math.min(ranges[r + 1], b0 + BLOCK_ROWS);
        for (let q = 0; q < queryCount; q++) {
          const x = queries.subarray(q * dim, (q + 1) * dim);
          const out = q * rows + column - b0;
          for (let p = b0; p < b1; p++) logits[out + p] = logitScale * dotFloat64(v, p * dim, x, dim);
        }
        column += b1 - b0;
      }
    }
    return { logits, queryStride: rows, speciesStride: 1 };
  }
}
