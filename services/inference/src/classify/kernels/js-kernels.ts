import { dotFloat64 } from '../vectors.ts';
import type { ClassifyKernels } from './kernels.ts';

/** Smallest normal float32. */
const FLT_MIN = 1.1754943508222875e-38;

/**
 * The TypeScript kernels: the reference for the native ones (native/classify_kernels.c computes the same operations
 * in the same order, so both give bit-identical results) and the fallback where the addon is not built.
 */
export const jsKernels: ClassifyKernels = {
  name: 'typescript',

  foldGenusSums(weights, stride, ranges, genusOf, rescale, sums) {
    let i = 0;
    for (let r = 0; r < ranges.length; r += 2) {
      const end = ranges[r + 1];
      let p = ranges[r];
      while (p < end) {
        const genus = genusOf[p];
        let sum = 0;
        for (; p < end && genusOf[p] === genus; p++, i++) sum += weights[i * stride];
        sums[genus] += sum * rescale;
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
};
