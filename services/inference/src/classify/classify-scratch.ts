import { GENUS_RANK, SPECIES_RANK } from './ranks.ts';
import type { SpeciesIndex } from './species-index.ts';

export interface RankTotals {
  /** Numerator of each group's probability (divide by `partition`). */
  readonly mass: Float64Array;
  /** Bound on |mass − float64 mass| per group. */
  readonly error: Float64Array;
}

/** One image's per-genus state in TreeSoftmax (see its fields of the same names). */
export interface GenusArrays {
  readonly approx: Float64Array;
  readonly exact: Float64Array;
  readonly resolved: Uint8Array;
  readonly pending: Int32Array;
}

/** Everything one classify() call writes per genus and per group: at 1 M species, ≈ 5 MB per image. */
export interface ClassifyScratch {
  /** Candidate species per genus (the same for every image). */
  readonly pending: Int32Array;
  /** Per image of the call, in order (at least as many as the call has images). */
  readonly images: readonly GenusArrays[];
  /** Per-rank sums above species, shared by the images of the call (each image's are read right after its finish). */
  readonly totals: readonly RankTotals[];
}

/**
 * Reuses the last call's scratch arrays. Fresh typed arrays of this size cost more in page faults than the work done
 * in them (≈ 5 ms per image at 1 M species on the benchmark machine). Concurrent calls each get their own set; one
 * idle set is kept.
 */
export class ClassifyScratchPool {
  private idle: ClassifyScratch | undefined;

  constructor(private readonly index: SpeciesIndex) {}

  /**
   * Scratch for `images` images: the first `images` entries of `images` in the state a fresh allocation would have
   * where the engine relies on it (there may be more entries, unused).
   */
  acquire(images: number): ClassifyScratch {
    const genera = this.index.groupCount(GENUS_RANK);
    const reused = this.idle;
    this.idle = undefined;
    const pending = reused?.pending ?? new Int32Array(genera);
    pending.fill(0);
    const arrays: GenusArrays[] = [];
    for (let q = 0; q < images; q++) {
      const old = reused?.images[q];
      if (old) {
        // `pending` is overwritten by endFold before any read.
        old.approx.fill(0);
        old.exact.fill(0);
        old.resolved.fill(0);
        arrays.push(old);
      } else {
        arrays.push({ approx: new Float64Array(genera), exact: new Float64Array(genera), resolved: new Uint8Array(genera), pending: new Int32Array(genera) });
      }
    }
    // Arrays beyond this call's images ride along unused, so that a small call does not drop a large call's set.
    if (reused) arrays.push(...reused.images.slice(images));
    return { pending, images: arrays, totals: reused?.totals ?? allocateRankTotals(this.index) };
  }

  release(scratch: ClassifyScratch): void {
    if (!this.idle || scratch.images.length >= this.idle.images.length) this.idle = scratch;
  }
}

/** Per-rank sums for every rank above species (TreeSoftmax.buildTotals zeroes them before use). */
function allocateRankTotals(index: SpeciesIndex): RankTotals[] {
  const totals: RankTotals[] = [];
  for (let r = 0; r < SPECIES_RANK; r++) {
    const n = index.groupCount(r);
    totals.push({ mass: new Float64Array(n), error: new Float64Array(n) });
  }
  return totals;
}
