/**
 * The loops of tree-of-life classification that touch every species for every image, behind one interface so that
 * a native build (services/inference/native) can replace the TypeScript ones. Both implementations compute the same
 * float64 operations in the same order: the choice changes speed, never a result.
 */
export interface ClassifyKernels {
  /** 'native' or 'typescript'. */
  readonly name: string;
  /**
   * Pass 1's per-species work for one image: its chunk weights (row i at `weights[i·stride]`, rows numbering the
   * chunk's `ranges` in order) summed in float64 over each run of species of one genus, and each run's sum times
   * `rescale` added to `sums[genus]`.
   */
  foldGenusSums(weights: Float32Array, stride: number, ranges: Int32Array, genusOf: Int32Array, rescale: number, sums: Float64Array): void;
  /** out[j] = Σ_k vectors[positions[j]·dim + k] · query[k] in float64 (the order of `dotFloat64`). */
  dotRows(vectors: Float32Array, dim: number, positions: Int32Array, query: Float64Array, out: Float64Array): void;
  /**
   * For each query column `columns[j]`, the chunk rows whose weight is not skipped — skipped means
   * `w < skipBelow[j]` and `w ≥ FLT_MIN` (subnormal weights are always kept, for a float64 look) — in row order, at
   * `outRows[j·rows …]`, their number at `outCounts[j]`.
   */
  scanRows(
    weights: Float32Array,
    queryStride: number,
    speciesStride: number,
    rows: number,
    columns: Int32Array,
    skipBelow: Float64Array,
    outRows: Int32Array,
    outCounts: Int32Array,
  ): void;
}
