// The bound the engine uses for what stays approximate (tree-softmax.ts `restMassError`): checked against exact
// probabilities with adversarial and random weight errors, and shown to be nearly reached (so it is not loose).
import { describe, expect, it } from 'vitest';

import { restMassError } from '../../src/classify/tree-softmax.ts';
import { rng } from './classify-fixtures.ts';

interface Trial {
  exact: number[]; // float64 weights of every species
  rescored: boolean[]; // species whose weight is exact in the approximate partition too
  inGroup: boolean[];
  relativeErrors: number[]; // applied to species not rescored, each within ±w
}

/** |p̃ − p| for the group, |z̃ − z|, and the bound's two values (probability and partition). */
function measure({ exact, rescored, inGroup, relativeErrors }: Trial, w: number) {
  let z = 0;
  let zApprox = 0;
  let group = 0;
  let groupApprox = 0;
  let rest = 0;
  exact.forEach((u, i) => {
    const approx = rescored[i] ? u : u * (1 + relativeErrors[i]);
    if (!rescored[i]) rest += approx;
    z += u;
    zApprox += approx;
    if (inGroup[i]) {
      group += u;
      groupApprox += approx;
    }
  });
  return {
    probabilityError: Math.abs(groupApprox / zApprox - group / z),
    probabilityBound: restMassError(w, rest) / zApprox,
    partitionError: Math.abs(zApprox - z),
    partitionBound: restMassError(w, rest),
  };
}

describe('restMassError', () => {
  const w = 4.6e-3; // the float32 screening's weight bound at logit scale 100, 768-d

  it('bounds every probability and the partition under random errors within ±w', () => {
    const random = rng(7);
    for (let trial = 0; trial < 2000; trial++) {
      const n = 2 + Math.floor(random() * 300);
      const exact = Array.from({ length: n }, () => Math.exp(20 * random() - 10));
      const t: Trial = {
        exact,
        rescored: exact.map(() => random() < 0.3),
        inGroup: exact.map(() => random() < 0.4),
        relativeErrors: exact.map(() => (random() < 0.5 ? (2 * random() - 1) * w : random() < 0.5 ? w : -w)),
      };
      const m = measure(t, w);
      expect(m.probabilityError).toBeLessThanOrEqual(m.probabilityBound);
      expect(m.partitionError).toBeLessThanOrEqual(m.partitionBound);
    }
  });

  it('holds, and is nearly reached, where the error is largest', () => {
    // The group is all that is approximate, pushed one way, beside a heavy exact species: |p̃ − p| → w·U/z̃.
    for (const sign of [1, -1]) {
      const exact = [1000, ...Array.from({ length: 10 }, () => 1)];
      const approximate = exact.map((_, i) => i > 0);
      const m = measure({ exact, rescored: approximate.map((a) => !a), inGroup: approximate, relativeErrors: exact.map(() => sign * w) }, w);
      expect(m.probabilityError).toBeLessThanOrEqual(m.probabilityBound);
      expect(m.probabilityError).toBeGreaterThan(0.95 * m.probabilityBound);
    }
    // Two approximate halves pushed apart, p = 1/2: half of it. Bounding the group's numerator and the partition
    // separately (2w·U/z̃, the engine's earlier bound) would be four times the error here.
    const halves = Array.from({ length: 1000 }, () => 1);
    const inGroup = halves.map((_, i) => i < 500);
    const m = measure({ exact: halves, rescored: halves.map(() => false), inGroup, relativeErrors: inGroup.map((g) => (g ? w : -w)) }, w);
    expect(m.probabilityError).toBeLessThanOrEqual(m.probabilityBound);
    expect(m.probabilityError).toBeGreaterThan(0.49 * m.probabilityBound);
    // All errors one way: the partition moves by the whole w·U.
    const exact = Array.from({ length: 100 }, (_, i) => 1 + i);
    const p = measure({ exact, rescored: exact.map(() => false), inGroup: exact.map(() => false), relativeErrors: exact.map(() => -w) }, w);
    expect(p.partitionError).toBeLessThanOrEqual(p.partitionBound);
    expect(p.partitionError).toBeGreaterThan(0.99 * p.partitionBound);
  });

  it('is zero when nothing is approximate', () => {
    expect(restMassError(w, 0)).toBe(0);
  });
});
