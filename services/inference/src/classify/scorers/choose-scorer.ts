import type { SpeciesIndex } from '../species-index.ts';
import { JsSpeciesScorer } from './js-scorer.ts';
import { NativeSpeciesScorer } from './native-scorer.ts';
import { OrtSpeciesScorer } from './ort-scorer.ts';
import type { SpeciesScorer } from './scorer.ts';

/** Candidate sets from this size are screened in float32; smaller ones are scored in float64 directly. */
export const FLOAT32_SCREENING_FROM_SPECIES = 20_000;

/**
 * The screening backend for an index: float64 TypeScript for small ones; for large ones the native known-order
 * kernel where the addon is loaded and the CPU has AVX-512 (its ≈ 13× tighter bound leaves far less float64 work),
 * else ONNX Runtime's SGEMM.
 */
export function chooseScorer(index: SpeciesIndex, options: { spinWait?: boolean } = {}): SpeciesScorer {
  if (index.size < FLOAT32_SCREENING_FROM_SPECIES) return new JsSpeciesScorer();
  if (NativeSpeciesScorer.unavailable(index.dim) === undefined) return new NativeSpeciesScorer();
  return new OrtSpeciesScorer({ spinWait: options.spinWait });
}
