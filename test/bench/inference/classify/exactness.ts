import { RANK_NAMES } from "./synthetic-tree.ts";
import type { Top1 } from "./torch-head.ts";

/** Relative gap between the float64 top-1 and runner-up below which float64 itself cannot be trusted to order them. */
export const FLOAT64_TIE_GAP = 1e-9;

export interface Reference {
  /** Per query: top-1 group id per rank (kingdom … genus), then the species position. */
  top1: Top1[];
  /** Per query and rank: (best − second) / best of the float64 masses (species: 1 − e^−(logit gap)). */
  relativeGap: number[][];
  seconds: number;
}

export interface RankExactness {
  rank: string;
  /** Queries whose top-1 equals the float64 reference. */
  identical: number;
  /** Queries whose top-1 differs where the reference's own gap is below FLOAT64_TIE_GAP (a tie at float64 precision). */
  ties: number;
  /** Queries whose top-1 differs outside a tie: real errors. */
  wrong: number;
  /** Smallest relative gap among the reference's top-1s (how close the closest call was). */
  closestGap: number;
  /** Queries whose reference gap is below the float32 screening error (≈1e-2 relative at scale 100): float32 alone could not decide them. */
  belowFloat32Bound: number;
}

/** Per rank: how many of the first `count` answers equal the reference's top-1. */
export function compareTop1(answers: readonly Top1[], reference: Reference, float32RelativeBound: number): RankExactness[] {
  return RANK_NAMES.map((rank, r) => {
    let identical = 0;
    let ties = 0;
    let wrong = 0;
    let closestGap = Number.POSITIVE_INFINITY;
    let belowFloat32Bound = 0;
    answers.forEach((answer, q) => {
      const gap = reference.relativeGap[q]![r]!;
      closestGap = Math.min(closestGap, gap);
      if (gap < float32RelativeBound) belowFloat32Bound++;
      if (answer[r] === reference.top1[q]![r]) identical++;
      else if (gap < FLOAT64_TIE_GAP) ties++;
      else wrong++;
    });
    return { rank, identical, ties, wrong, closestGap, belowFloat32Bound };
  });
}
