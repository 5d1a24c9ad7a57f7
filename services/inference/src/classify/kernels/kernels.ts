/**
 * The loops of tree-of-life classification that touch every species for every image, behind one interface so that
 * a native build (services/inference/native) can replace the TypeScript ones. Both implementations compute the same
 * float64 operations in the same order: the choice changes speed, never a result.
 */
export interface ClassifyKernels {
  /** 'native' or 'typescript'. */
  readonly name: string;
  /**
   * Pass 1's per-species work for the images of a chunk: image j's weights (row i at
   * `weights[j·queryStride + i·speciesStride]`, rows numbering the chunk's `ranges` in order) summed in float64 over
   * each run of species of one genus, and each run's sum times `rescale[j]` added to `sums[j][genus]`, run by run.
   * The native kernel splits the images over `threads` threads; the results do not depend on it.
   */
  foldGenusSums(
    weights: Float32Array,
    queryStride: number,
    speciesStride: number,
    ranges: Int32Array,
    genusOf: Int32Array,
    rescale: Float64Array,
    sums: readonly Float64Array[],
    threads: number,
  ): void;
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
  /** mass[g] = exact[g] + approx[g]; error[g] = relative · approx[g] where approx[g] > 0, else 0 (g < approx.length). */
  genusTotals(approx: Float64Array, exact: Float64Array, relative: number, mass: Float64Array, error: Float64Array): void;
  /** Zeroes `mass` and `error`, then adds each child's mass and error to its parent's, in child order. */
  sumIntoParents(childMass: Float64Array, childError: Float64Array, parents: Int32Array, mass: Float64Array, error: Float64Array): void;
  /**
   * Zeroes both histograms, then for every genus with pending > 0 and approx > 0 adds approx to `below` and pending to
   * `counts` at bucketOf(approx / pending) (weight-histogram.ts; the histograms have BUCKET_COUNT entries).
   */
  genusHistogram(approx: Float64Array, pending: Int32Array, below: Float64Array, counts: Float64Array): void;
  /** The k largest positive masses' indices, largest first, ties to the lower index, written to `out`; returns how many. */
  topGroups(mass: Float64Array, k: number, out: Int32Array): number;
  /**
   * The groups g, ascending, with mass[g] + error[g] ≥ low, mass[g] > 0 and (error[g] > 0 or lastHasError): the first
   * out.length of them written to `out`; returns how many there are in all.
   */
  reachingGroups(mass: Float64Array, error: Float64Array, low: number, lastHasError: boolean, out: Int32Array): number;
}
