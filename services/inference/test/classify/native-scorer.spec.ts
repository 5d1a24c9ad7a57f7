// The native screening kernel (native/screening_kernel.c) against float64 dot products: every weight within the
// scorer's stated bound, the reported top k, max and min consistent with the weights, and typed errors for bad calls.
import { describe, expect, it } from 'vitest';

import { nativeScreening } from '../../src/classify/kernels/index.ts';
import { NativeSpeciesScorer } from '../../src/classify/scorers/native-scorer.ts';
import { OrtSpeciesScorer } from '../../src/classify/scorers/ort-scorer.ts';
import { gamma, UNIT_ROUNDOFF_F32 } from '../../src/classify/scorers/scorer.ts';
import { SpeciesIndex } from '../../src/classify/species-index.ts';
import { TreeOfLifeClassifier } from '../../src/classify/tree-classifier.ts';
import { rng } from './classify-fixtures.ts';

const DIM = 768;
const SCALE = 100;
const unavailable = NativeSpeciesScorer.unavailable();

function unitRows(count: number, seed: number): Float32Array {
  const random = rng(seed);
  const out = new Float32Array(count * DIM);
  for (let r = 0; r < count; r++) {
    let n = 0;
    const row = Float64Array.from({ length: DIM }, () => random() - 0.5);
    for (const v of row) n += v * v;
    for (let k = 0; k < DIM; k++) out[r * DIM + k] = row[k] / Math.sqrt(n);
  }
  return out;
}

describe.skipIf(unavailable !== undefined)(`NativeSpeciesScorer${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  // 1,001 rows and 5 queries: neither a multiple of the kernel's 3-species or 8-query blocks.
  const rows = 1001;
  const vectors = unitRows(rows, 3);
  const index = SpeciesIndex.fromColumns(
    { vectors, lineages: Array.from({ length: rows }, (_, i) => ['K', 'P', 'C', 'O', 'F', `G${i >> 3}`, `s${i}`]), commonNames: new Array<string>(rows).fill('') },
    { dim: DIM },
  );
  const queryCount = 5;
  const queries = Float64Array.from(unitRows(queryCount, 4));

  it('states a bound ≈ 13× tighter than the ONNX Runtime scorer (γ₅₂ instead of γ₇₆₈ at 768-d)', () => {
    const native = new NativeSpeciesScorer({ threads: 2 }).errorBound(SCALE, DIM);
    const ort = new OrtSpeciesScorer().errorBound(SCALE, DIM);
    expect(native.logit).toBeGreaterThan(SCALE * gamma(52, UNIT_ROUNDOFF_F32));
    expect(ort.logit / native.logit).toBeGreaterThan(10);
    expect(() => new NativeSpeciesScorer().errorBound(SCALE, 100)).toThrow(/multiple of 16/);
  });

  it('reports weights within its bound of float64, with the chunk max, top k and minimum they imply', async () => {
    const scorer = new NativeSpeciesScorer({ threads: 2 });
    const bound = scorer.errorBound(SCALE, DIM).logit;
    const chunk = await scorer.score(index, queries, queryCount, Int32Array.of(0, rows), SCALE, 40);
    const { weights, chunkMax, topWeights, topRows, topCount, minWeights, weightOffset } = chunk;
    expect(topCount).toBe(40);
    for (let q = 0; q < queryCount; q++) {
      const row = weights!.subarray(q * rows, (q + 1) * rows);
      let worst = 0;
      for (let r = 0; r < rows; r++) {
        let dot = 0;
        for (let k = 0; k < DIM; k++) dot += vectors[r * DIM + k] * queries[q * DIM + k];
        worst = Math.max(worst, Math.abs(Math.log(row[r]) + chunkMax![q] - weightOffset! - SCALE * dot));
      }
      expect(worst).toBeLessThanOrEqual(bound);
      // The largest weight is exp(offset), within the exp's few ulp.
      expect(Math.abs(Math.max(...row) / Math.exp(weightOffset!) - 1)).toBeLessThan(1e-6);
      expect(minWeights![q]).toBe(Math.min(...row));
      const sorted = Array.from(row).sort((a, b) => b - a);
      const top = Array.from(topWeights!.subarray(q * topCount!, (q + 1) * topCount!));
      expect(top).toEqual(sorted.slice(0, topCount));
      top.forEach((w, j) => expect(row[topRows![q * topCount! + j]]).toBe(w));
    }
  });

  it('sums a logit in the same order inside the 3 × 8 register blocks and outside them (bit-identical)', async () => {
    // On one thread, 1,040 rows are 346 blocks of 3 and 2 rows summed outside them (lane_dot), and 9 queries one block
    // of 8 and one query outside; the outside ones repeat rows 0–1 and query 0. (1,040 is a multiple of 16, so every
    // weight comes from the 16-wide exp: the last rows % 16 would take scalar expf, which may differ in the last ulp.)
    const n = 1040;
    const copies = unitRows(n, 6);
    copies.copyWithin((n - 2) * DIM, 0, 2 * DIM);
    // Names that sort in row order keep every row at its position in the index.
    const padded = (i: number) => String(i).padStart(4, '0');
    const blockIndex = SpeciesIndex.fromColumns(
      { vectors: copies, lineages: Array.from({ length: n }, (_, i) => ['K', 'P', 'C', 'O', 'F', `G${padded(i >> 3)}`, `s${padded(i)}`]), commonNames: new Array<string>(n).fill('') },
      { dim: DIM },
    );
    const nine = new Float64Array(9 * DIM);
    nine.set(unitRows(8, 5));
    nine.copyWithin(8 * DIM, 0, DIM);
    const { weights, chunkMax } = await new NativeSpeciesScorer({ threads: 1 }).score(blockIndex, nine, 9, Int32Array.of(0, n), SCALE, 8);
    expect(chunkMax![8]).toBe(chunkMax![0]);
    expect(Array.from(weights!.subarray(8 * n, 9 * n))).toEqual(Array.from(weights!.subarray(0, n)));
    for (let q = 0; q < 9; q++) {
      expect(weights![q * n + n - 2]).toBe(weights![q * n]);
      expect(weights![q * n + n - 1]).toBe(weights![q * n + 1]);
    }
  });

  it('gathers scattered ranges like the ONNX Runtime scorer, and refuses bad calls with typed errors', async () => {
    const ranges = Int32Array.of(10, 20, 500, 530);
    const native = await new NativeSpeciesScorer({ threads: 1 }).score(index, queries, queryCount, ranges, SCALE, 8);
    const ort = await new OrtSpeciesScorer({ intraOpNumThreads: 1 }).score(index, queries, queryCount, ranges, SCALE, 8);
    for (let i = 0; i < native.weights!.length; i++) expect(Math.abs(Math.log(native.weights![i] / ort.weights![i]))).toBeLessThan(1e-3);
    const screening = nativeScreening()!;
    const out = () => [new Float32Array(1), new Float32Array(4), new Float32Array(2), new Int32Array(2), new Float32Array(1)] as const;
    expect(() => screening.screenChunk(new Float32Array(4 * 100), new Float32Array(100), 100, 87, 1, ...out())).toThrow(/multiple of 16/);
    expect(() => screening.screenChunk(new Float32Array(4 * 16), new Float32Array(16), 16, 87, 1, new Float32Array(1), new Float32Array(3), new Float32Array(2), new Int32Array(2), new Float32Array(1))).toThrow(/do not match/);
    expect(() => screening.screenChunk(new Float32Array(4 * 16), new Float32Array(16), 16, 87, 1, ...out())).not.toThrow();
    expect(() => screening.screenChunk(new Float32Array(4 * 16), new Float32Array(16), 16, 87, 1, new Float32Array(1), new Float32Array(4), new Float32Array(5), new Int32Array(5), new Float32Array(1))).toThrow(/k is 0 or above rows/);
  });

  it('reuses the weight buffers of a finished call, with results identical to fresh buffers (collection passes too)', async () => {
    const chunkRows = 256;
    // A tolerance this tight makes every image collect species beyond its tracked list from the stored chunks, so a
    // stale weight left in a reused buffer would change the answers.
    const options = { logitScale: SCALE, tolerance: 1e-7, maxRescored: rows } as const;
    const recycling = new NativeSpeciesScorer({ threads: 2, chunkRows });
    const reused = new TreeOfLifeClassifier(index, { ...options, scorer: recycling });
    const fresh = () => new TreeOfLifeClassifier(index, { ...options, scorer: new NativeSpeciesScorer({ threads: 2, chunkRows }) });
    const images = (from: number, count: number) => Array.from({ length: count }, (_, i) => queries.subarray((from + i) * DIM, (from + i + 1) * DIM));
    // Each call after the first screens into the buffers of the call before (the same sizes, or a subset of them).
    for (const [from, count] of [[0, 5], [1, 4], [0, 5], [2, 3], [0, 5]] as const) {
      const result = await reused.classify(images(from, count), { rank: 'all', k: 5 });
      expect(result).toEqual(await fresh().classify(images(from, count), { rank: 'all', k: 5 }));
      expect(result.some((r) => r.exactness.rescored > 32)).toBe(true);
    }
    // A buffer given back is the one the next call of that size gets.
    const scorer = new NativeSpeciesScorer({ threads: 1, chunkRows });
    const kept = (await scorer.score(index, queries, 5, Int32Array.of(0, chunkRows), SCALE, 32)).weights!;
    scorer.recycle([{ queryStride: chunkRows, speciesStride: 1, weights: kept }]);
    expect((await scorer.score(index, queries, 5, Int32Array.of(0, chunkRows), SCALE, 32)).weights).toBe(kept);
  });
});
