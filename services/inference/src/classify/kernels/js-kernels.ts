import { dotFloat64 } from '../vectors.ts';
import { bucketOf } from '../weight-histogram.ts';
import type { ClassifyKernels } from './kernels.ts';

/** Smallest normal float32. */
const FLT_MIN = 1.1754943508222875e-38;

/**
 * The TypeScript kernels: the reference for the native ones (native/classify_kernels.c computes the same operations
 * in the same order, so both give bit-identical results) and the fallback where the addon is not built.
 */
export const jsKernels: ClassifyKernels = {
  name: 'typescript',

  foldGenusSums(weights, queryStride, speciesStride, ranges, genusOf, rescale, sums) {
    for (let q = 0; q < rescale.length; q++) {
      const base = q * queryStride;
      const out = sums[q];
      let i = 0;
      for (let r = 0; r < ranges.length; r += 2) {
        const end = ranges[r + 1];
        let p = ranges[r];
        while (p < end) {
          const genus = genusOf[p];
          let sum = 0;
          for (; p < end && genusOf[p] === genus; p++, i++) sum += weights[base + i * speciesStride];
          out[genus] += sum * rescale[q];
        }
      }
    }
  },

  dotRows(vectors, dim, positions, query, out) {
    for (let j = 0; j < positions.length; j++) out[j] = dotFloat64(vectors, positions[j] * dim, query, dim);
  },

  scanRows(weights, queryStride, speciesStride, rows, columns, skipBelow, outRows, outCounts) {
    for (let j = 0; j < columns.length; j++) {
      const column = columns[j] * queryStride;
      const below = skipBelow[j];
      const base = j * rows;
      let found = 0;
      for (let i = 0; i < rows; i++) {
        const w = weights[i * speciesStride + column];
        if (w < below && w >= FLT_MIN) continue;
        outRows[base + found++] = i;
      }
      outCounts[j] = found;
    }
  },

  genusTotals(approx, exact, relative, mass, error) {
    for (let g = 0; g < approx.length; g++) {
      const a = approx[g];
      mass[g] = exact[g] + a;
      error[g] = a > 0 ? relative * a : 0;
    }
  },

  sumIntoParents(childMass, childError, parents, mass, error) {
    mass.fill(0);
    error.fill(0);
    for (let g = 0; g < parents.length; g++) {
      mass[parents[g]] += childMass[g];
      error[parents[g]] += childError[g];
    }
  },

  genusHistogram(approx, pending, below, counts) {
    below.fill(0);
    counts.fill(0);
    for (let g = 0; g < approx.length; g++) {
      const n = pending[g];
      const m = approx[g];
      if (n <= 0 || !(m > 0)) continue;
      const b = bucketOf(m / n);
      below[b] += m;
      counts[b] += n;
    }
  },

  topGroups(mass, k, out) {
    let length = 0;
    for (let g = 0; g < mass.length && k > 0; g++) {
      const m = mass[g];
      if (!(m > 0)) continue;
      if (length === k && m <= mass[out[k - 1]]) continue;
      let i = length === k ? k - 1 : length;
      while (i > 0 && mass[out[i - 1]] < m) {
        out[i] = out[i - 1];
        i--;
      }
      out[i] = g;
      if (length < k) length++;
    }
    return length;
  },

  reachingGroups(mass, error, low, lastHasError, out) {
    let found = 0;
    for (let g = 0; g < mass.length; g++) {
      if (mass[g] + error[g] >= low && mass[g] > 0 && (error[g] > 0 || lastHasError)) {
        if (found < out.length) out[found] = g;
        found++;
      }
    }
    return found;
  },
};
