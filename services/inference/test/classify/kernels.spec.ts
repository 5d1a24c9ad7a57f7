import { describe, expect, it } from 'vitest';

import { jsKernels, kernels, loadNativeKernels, nativeKernelsUnavailable, type ClassifyKernels } from '../../src/classify/kernels/index.ts';
import { BUCKET_COUNT } from '../../src/classify/weight-histogram.ts';
import { rng } from './classify-fixtures.ts';

/** The native addon, unless it is not built here and CI did not require it. */
function nativeOrSkip(): ClassifyKernels | undefined {
  try {
    return loadNativeKernels();
  } catch (error) {
    if (process.env.ARBOR_NATIVE_KERNELS === 'required') throw error;
    return undefined;
  }
}
const native = nativeOrSkip();

/** Weights spread over ~80 orders of magnitude, with some subnormal and zero values, like exp(logit − max + 87). */
function weights(n: number, next: () => number): Float32Array {
  const w = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = next();
    w[i] = u < 0.01 ? 0 : u < 0.02 ? 1e-40 * next() : Math.exp(87 - 180 * next());
  }
  return w;
}

function expectBitIdentical(a: ArrayLike<number>, b: ArrayLike<number>): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) expect.fail(`element ${i}: ${a[i]} !== ${b[i]}`);
}

describe('classify kernels', () => {
  it('are the native ones when the addon is built (CI requires it), else say why not', () => {
    if (native) expect(kernels.name).toBe(process.env.ARBOR_NATIVE_KERNELS === 'off' ? 'typescript' : 'native');
    else expect(nativeKernelsUnavailable).toMatch(/not built|off/);
  });

  describe.skipIf(!native)('native and TypeScript give bit-identical results', () => {
    const genera = 400;
    const species = 2_000;
    const next = rng(7);
    // Genera of 1–12 species, in position order, as in a SpeciesIndex.
    const genusOf = new Int32Array(species);
    for (let p = 0, g = 0; p < species; g++) for (let n = 1 + Math.floor(next() * 12); n > 0 && p < species; n--) genusOf[p++] = Math.min(g, genera - 1);

    for (const [layout, count] of [
      ['species-major', 5],
      ['query-major', 3],
    ] as const) {
      it(`folds every image's weights per genus, on any number of threads (${layout}, one range and scattered ranges)`, () => {
        for (const ranges of [Int32Array.of(0, species), Int32Array.of(3, 150, 150, 151, 400, 1_210, 1_999, 2_000)]) {
          let rows = 0;
          for (let r = 0; r < ranges.length; r += 2) rows += ranges[r + 1] - ranges[r];
          const w = weights(rows * count, next);
          const [qs, ss] = layout === 'species-major' ? [1, count] : [rows, 1];
          const rescale = Float64Array.from({ length: count }, () => Math.exp(40 * next() - 20));
          const fresh = () => Array.from({ length: count }, () => new Float64Array(genera).fill(0.25));
          const typescript = fresh();
          jsKernels.foldGenusSums(w, qs, ss, ranges, genusOf, rescale, typescript, 1);
          for (const threads of [1, 2, 3, 8]) {
            const sums = fresh();
            native!.foldGenusSums(w, qs, ss, ranges, genusOf, rescale, sums, threads);
            sums.forEach((s, q) => expectBitIdentical(s, typescript[q]));
          }
          for (let q = 0; q < count; q++) {
            // Independent check: the same sums species by species.
            const expected = new Float64Array(genera).fill(0.25);
            let i = 0;
            for (let r = 0; r < ranges.length; r += 2) {
              let p = ranges[r];
              while (p < ranges[r + 1]) {
                const g = genusOf[p];
                let sum = 0;
                for (; p < ranges[r + 1] && genusOf[p] === g; p++, i++) sum += w[q * qs + i * ss];
                expected[g] += sum * rescale[q];
              }
            }
            expectBitIdentical(typescript[q], expected);
          }
        }
      });

      it(`scans the rows above each image's threshold, subnormal weights always included (${layout})`, () => {
        const rows = 3_000;
        const w = weights(rows * count, next);
        const [qs, ss] = layout === 'species-major' ? [1, count] : [rows, 1];
        const columns = Int32Array.of(count - 1, 0);
        const skipBelow = Float64Array.of(1e30, 1);
        const out = [new Int32Array(rows * 2), new Int32Array(rows * 2)];
        const counts = [new Int32Array(2), new Int32Array(2)];
        jsKernels.scanRows(w, qs, ss, rows, columns, skipBelow, out[0], counts[0]);
        native!.scanRows(w, qs, ss, rows, columns, skipBelow, out[1], counts[1]);
        expectBitIdentical(counts[1], counts[0]);
        expectBitIdentical(out[1], out[0]);
        // Independent check of the rule for image 0 (column count − 1).
        const expected: number[] = [];
        for (let i = 0; i < rows; i++) {
          const v = w[i * ss + (count - 1) * qs];
          if (!(v < 1e30 && v >= 1.1754943508222875e-38)) expected.push(i);
        }
        expect(Array.from(out[0].subarray(0, counts[0][0]))).toEqual(expected);
        expect(counts[0][0]).toBeGreaterThan(0);
      });
    }

    it('computes float64 dot products of float32 rows in dotFloat64 order', () => {
      for (const dim of [768, 13]) {
        const vectors = Float32Array.from({ length: 50 * dim }, () => next() * 2 - 1);
        const query = Float64Array.from({ length: dim }, () => next() * 2 - 1);
        const positions = Int32Array.of(49, 0, 7, 7, 23);
        const out = [new Float64Array(5), new Float64Array(5)];
        jsKernels.dotRows(vectors, dim, positions, query, out[0]);
        native!.dotRows(vectors, dim, positions, query, out[1]);
        expectBitIdentical(out[1], out[0]);
      }
    });

    it('sums genera into ranks and histograms genus means the same way', () => {
      const approx = Float64Array.from({ length: genera }, (_, g) => (g % 7 === 0 ? 0 : Math.exp(60 * next() - 30)));
      const exact = Float64Array.from({ length: genera }, () => (next() < 0.3 ? Math.exp(10 * next()) : 0));
      const pending = Int32Array.from({ length: genera }, (_, g) => (g % 5 === 0 ? 0 : 1 + Math.floor(next() * 20)));
      const parents = Int32Array.from({ length: genera }, (_, g) => Math.floor(g / 9));
      const outs = [0, 1].map(() => ({
        mass: new Float64Array(genera),
        error: new Float64Array(genera),
        parentMass: new Float64Array(45).fill(3),
        parentError: new Float64Array(45).fill(3),
        below: new Float64Array(BUCKET_COUNT).fill(1),
        counts: new Float64Array(BUCKET_COUNT).fill(1),
      }));
      [jsKernels, native!].forEach((k, i) => {
        const o = outs[i];
        k.genusTotals(approx, exact, 4.6e-3, o.mass, o.error);
        k.sumIntoParents(o.mass, o.error, parents, o.parentMass, o.parentError);
        k.genusHistogram(approx, pending, o.below, o.counts);
      });
      for (const key of ['mass', 'error', 'parentMass', 'parentError', 'below', 'counts'] as const) expectBitIdentical(outs[1][key], outs[0][key]);
      expect(outs[0].mass[1]).toBe(exact[1] + approx[1]);
      expect(outs[0].error[7]).toBe(0);
      expect(outs[0].parentMass[0]).toBe(outs[0].mass.subarray(0, 9).reduce((a, b) => a + b, 0));
      expect(outs[0].counts.reduce((a, b) => a + b, 0)).toBe(pending.reduce((a, n, g) => a + (n > 0 && approx[g] > 0 ? n : 0), 0));
    });

    it('finds the leading groups and the groups reaching a bound the same way', () => {
      // Ties and zeros on purpose: order by mass, ties to the lower index.
      const mass = Float64Array.from({ length: 500 }, (_, g) => (g % 11 === 0 ? 0 : Math.floor(next() * 40)));
      const error = Float64Array.from({ length: 500 }, (_, g) => (g % 3 === 0 ? 0 : next()));
      for (const k of [1, 5, 600]) {
        const out = [new Int32Array(k), new Int32Array(k)];
        const n = [jsKernels.topGroups(mass, k, out[0]), native!.topGroups(mass, k, out[1])];
        expect(n[1]).toBe(n[0]);
        expectBitIdentical(out[1], out[0]);
        const expected = Array.from(mass.keys())
          .filter((g) => mass[g] > 0)
          .sort((a, b) => mass[b] - mass[a] || a - b)
          .slice(0, k);
        expect(Array.from(out[0].subarray(0, n[0]))).toEqual(expected);
      }
      for (const [low, lastHasError] of [[30, false], [30, true], [0.5, false]] as const) {
        const small = [new Int32Array(4), new Int32Array(4)];
        const found = [jsKernels.reachingGroups(mass, error, low, lastHasError, small[0]), native!.reachingGroups(mass, error, low, lastHasError, small[1])];
        expect(found[1]).toBe(found[0]);
        expectBitIdentical(small[1], small[0]);
        const all = new Int32Array(found[0]);
        native!.reachingGroups(mass, error, low, lastHasError, all);
        const expected = Array.from(mass.keys()).filter((g) => mass[g] + error[g] >= low && mass[g] > 0 && (error[g] > 0 || lastHasError));
        expect(Array.from(all)).toEqual(expected);
      }
    });

    it('refuses wrong array types and out-of-range indexes instead of reading past an array', () => {
      const f32 = new Float32Array(16);
      const f64 = new Float64Array(16);
      expect(() => native!.dotRows(f32, 4, Int32Array.of(4), f64, f64)).toThrow(RangeError);
      expect(() => native!.dotRows(f32, 4, Int32Array.of(-1), f64, f64)).toThrow(RangeError);
      expect(() => native!.dotRows(f64 as unknown as Float32Array, 4, Int32Array.of(0), f64, f64)).toThrow(TypeError);
      const one = Float64Array.of(1);
      expect(() => native!.foldGenusSums(f32, 16, 1, Int32Array.of(0, 9), new Int32Array(8), one, [f64], 1)).toThrow(RangeError);
      expect(() => native!.foldGenusSums(f32, 16, 1, Int32Array.of(0, 8), new Int32Array(8).fill(100), one, [f64], 1)).toThrow(RangeError);
      expect(() => native!.foldGenusSums(f32, 16, 3, Int32Array.of(0, 8), new Int32Array(8), one, [f64], 1)).toThrow(RangeError);
      expect(() => native!.foldGenusSums(f32, 16, 1, Int32Array.of(0, 8, 9), new Int32Array(9), one, [f64], 1)).toThrow(RangeError);
      // A second image past the end of the weights, a genus past a shorter second sums array, sums that do not match.
      expect(() => native!.foldGenusSums(f32, 9, 1, Int32Array.of(0, 8), new Int32Array(8), Float64Array.of(1, 1), [f64, f64], 2)).toThrow(RangeError);
      expect(() => native!.foldGenusSums(f32, 8, 1, Int32Array.of(0, 8), new Int32Array(8).fill(5), Float64Array.of(1, 1), [f64, new Float64Array(5)], 2)).toThrow(RangeError);
      expect(() => native!.foldGenusSums(f32, 8, 1, Int32Array.of(0, 8), new Int32Array(8), Float64Array.of(1, 1), [f64], 2)).toThrow(TypeError);
      expect(() => native!.foldGenusSums(f32, 8, 1, Int32Array.of(0, 8), new Int32Array(8), one, [f32 as unknown as Float64Array], 1)).toThrow(TypeError);
      expect(() => native!.scanRows(f32, 1, 4, 8, Int32Array.of(0), f64, new Int32Array(8), new Int32Array(1))).toThrow(RangeError);
      expect(() => native!.scanRows(f32, 1, 2, 8, Int32Array.of(0), f64, new Int32Array(4), new Int32Array(1))).toThrow(RangeError);
      expect(() => native!.sumIntoParents(f64, f64, Int32Array.of(16), f64, f64)).toThrow(RangeError);
      expect(() => native!.genusTotals(f64, new Float64Array(3), 1, f64, f64)).toThrow(RangeError);
      expect(() => native!.genusHistogram(f64, new Int32Array(3), f64, f64)).toThrow(RangeError);
      expect(() => native!.topGroups(f64, 20, new Int32Array(4))).toThrow(RangeError);
      expect(() => native!.reachingGroups(f64, new Float64Array(3), 0, false, new Int32Array(4))).toThrow(RangeError);
    });
  });
});
