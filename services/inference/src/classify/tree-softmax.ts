import { availableParallelism } from 'node:os';

import { rangeRows, type CandidateSet } from './candidates.ts';
import { GENUS_RANK, RANK_COUNT, SPECIES_RANK } from './ranks.ts';
import type { ScoredChunk, ScorerErrorBound } from './scorers/scorer.ts';
import type { SpeciesIndex } from './species-index.ts';
import type { GenusArrays, RankTotals } from './classify-scratch.ts';
import { kernels } from './kernels/index.ts';
import { dotFloat64 } from './vectors.ts';
import { BUCKET_COUNT, bucketFloor, kthLargest } from './weight-histogram.ts';

export interface TreeSoftmaxSettings {
  readonly logitScale: number;
  /** Target for the absolute error of every probability; drives how many species are rescored in float64. */
  readonly tolerance: number;
  /**
   * Optional target for the relative error of each reported group probability (0: off). Tiny probabilities far
   * down a top-k list otherwise carry the screening error (relative ≈1e-5 with float32) inside the absolute bound.
   */
  readonly relativeTolerance: number;
  /** Float64 rescoring budget per image (species). */
  readonly maxRescored: number;
  /** pybioclip's min_prob: species at or below it are left out of the sums at ranks above species (0: exact sums). */
  readonly minProb: number;
  /** Per rank, how many leading groups are reported (0: rank not reported). */
  readonly certifyTop: readonly number[];
  /**
   * Whether the whole reported top-k order at ranks above species must be resolved in float64 (else only the top-1
   * and the answer threshold are, and the rest of the order is checked and reported but not forced). The species
   * top-k is always exact: it costs only a few rescored species.
   */
  readonly resolveTopK: boolean;
  /** Arbor's answer threshold, whose comparison with each rank's top-1 probability must also be exact. */
  readonly threshold: number | undefined;
}

/** How many of the largest weights an image tracks (and asks the scorer for) when k species are reported. */
export function trackedCount(k: number): number {
  return k + 1 + TRACK_EXTRA;
}

/** One species scored exactly: position, float64 logit and weight exp(logit − ref). */
export interface ExactSpecies {
  readonly position: number;
  readonly logit: number;
  readonly weight: number;
}

const MAX_RESOLVE_ROUNDS = 16;
const MAX_SELECT_ROUNDS = 4;
/** Species tracked beyond the k + 1 the species floor needs. */
const TRACK_EXTRA = 24;
/** Share of `maxRescored` the selection rounds may use; the rest is kept for resolving contested groups. */
const SELECT_SHARE = 0.75;
/** A band grows to this many times the selection room (plus the slack) before it is compacted. */
const BAND_COMPACT_FACTOR = 2;
const BAND_COMPACT_SLACK = 1024;
/** Each later selection round lowers a still-failing floor by this factor (3 logit units). */
const ROUND_STEP = Math.exp(-3);
/** Smallest normal float32. */
const FLT_MIN = 1.1754943508222875e-38;
/** Threads of the native fold (each image's sums stay in one thread: the results do not depend on the count). */
const FOLD_THREADS = availableParallelism();
/**
 * Relative slack for float64 sums of up to ≈9e6 positive terms (γ_n at u = 2⁻⁵³ stays below it): the genus and
 * partition sums of approximate weights are themselves float64 sums.
 */
const FLOAT64_SUM_SLACK = 1e-9;

/**
 * Bound on how far the approximate partition, and any group's approximate sum, can be from the exact one when the
 * species not rescored carry approximate mass `rest` and every approximate weight is within relative `w` of its
 * float64 value: the exact remainder U is at most rest / (1 − w), so each error is at most w·U. The same bound, over
 * the approximate partition z̃, bounds every probability: with ΔB the error on a group's own approximate species and
 * ΔC on the others', p̃ − p = ((1 − p)·ΔB − p·ΔC) / z̃, at most w·max(B, C) / z̃ ≤ w·U / z̃. (Bounding the numerator
 * and the partition separately would count the group's error twice.)
 */
export function restMassError(w: number, rest: number): number {
  return (w / (1 - w) + FLOAT64_SUM_SLACK) * rest;
}

/** Scratch for massFloor (synchronous, so one pair serves every image). */
const MASS_SCRATCH = new Float64Array(BUCKET_COUNT);
const COUNT_SCRATCH = new Float64Array(BUCKET_COUNT);

/**
 * The softmax of one image over the candidate species, made exact where it decides anything.
 *
 * Pass 1 (`foldChunk`, per scored chunk, all images of the batch together): per-genus float64 sums of the
 * approximate weights exp(logit − ref) (each image's `genusApprox`, totalled by `endFold`), and the image's
 * k + 1 + 24 largest weights with their species. `ref` is the first chunk's max and stays fixed: |logit| ≤
 * logitScale ≤ 300, so no weight overflows or underflows. With a backend that reports its chunk top-k, the work per
 * species and image is a single add.
 * Then `selectFloor` picks a weight floor the float64 step must reach: 2δ below the (k+1)-th species (so the species
 * top-k cannot change), every species that could exceed `minProb`, and low enough that what stays approximate cannot
 * move any probability by more than `tolerance` (bounded per genus by min(mass, count × floor)). When the floor lies
 * above the smallest tracked weight, the tracked list already holds every species that must be rescored.
 * Otherwise pass 2 (`collectChunk`, over the stored chunks) gathers the species at or above the floor (trimmed to the
 * budget by weight). `rescore` recomputes them in float64 and swaps their approximate weights for exact ones. If an
 * exact check still fails, the failing floor is lowered and the next band collected, a few rounds at most.
 * Finally `settleGroups` sums every rank from the genus sums with an error interval per group, and rescores whole
 * genera in float64 wherever a top-1 (or, with resolveTopK, a top-k order), or the answer threshold, is not yet
 * decided by those intervals.
 */
export class TreeSoftmax {
  private ref = Number.NaN;
  private readonly genusApprox: Float64Array;
  private readonly genusExact: Float64Array;
  private readonly genusResolved: Uint8Array;
  /** Candidates per genus whose weight is still approximate. */
  private readonly genusPending: Int32Array;
  /** Σ genusApprox and Σ genusExact, kept up to date so that no pass over the genera is needed to read them. */
  private approxTotal = 0;
  private exactTotal = 0;
  /**
   * The largest approximate weights seen (ascending) and their species: k + 1 decide the species floor, and up to
   * TRACK_EXTRA more let a confident image take its float64 set from this list instead of a collection pass.
   */
  private readonly top: Float64Array;
  private readonly topPositions: Int32Array;
  /** Species with approximate weight ≥ floor are collected; those ≥ collectedFloor already were. */
  private floor = Infinity;
  private collectedFloor = Infinity;
  /** After a budget trim, every species left out has approximate weight ≤ this (else the floor bounds them). */
  private leftOutMax = 0;
  private budgetSpent = false;
  private readonly bandPositions: number[] = [];
  private readonly bandWeights: number[] = [];
  /**
   * While collecting: the band never needs species below this weight, because at least `room + 1` heavier ones are
   * already in it and rescore() keeps only the `room` heaviest. Raised by compaction; 0 when nothing was trimmed.
   */
  private bandCut = 0;
  private exactPosition: number[] = [];
  private exactLogit: number[] = [];
  private exactWeight: number[] = [];
  private rescored = 0;
  private selectRounds = 0;
  private floorScale = { species: 1, minProb: 1, mass: 1 };
  private partitionValue = Number.NaN;
  private restMass = 0;
  private top1Ranks: boolean[] = [];
  private readonly leadingGroups: number[][] = [];
  private topKRanks: boolean[] = [];
  private minProbSettled = true;
  private speciesSettled = false;
  private massSettled = false;

  constructor(
    private readonly index: SpeciesIndex,
    private readonly candidates: CandidateSet,
    private readonly query: Float64Array,
    private readonly bound: ScorerErrorBound,
    private readonly settings: TreeSoftmaxSettings,
    /** Per-rank sums, shared by the images of one call: each image's are read right after its `finish`. */
    private readonly totals: readonly RankTotals[],
    /** This image's per-genus arrays (from ClassifyScratchPool): `exact` and `resolved` zeroed, the rest written by endFold. */
    genus: GenusArrays,
  ) {
    this.genusApprox = genus.approx;
    this.genusExact = genus.exact;
    this.genusResolved = genus.resolved;
    this.genusPending = genus.pending;
    this.top = new Float64Array(trackedCount(this.speciesK()));
    this.topPositions = new Int32Array(this.top.length).fill(-1);
  }

  private speciesK(): number {
    return Math.min(Math.max(this.settings.certifyTop[SPECIES_RANK], 1), this.candidates.count);
  }

  /**
   * Pass 1 over one scored chunk, for every image. `pending` counts each genus's candidate species (shared by the
   * images: the same for all).
   */
  static foldChunk(states: readonly TreeSoftmax[], ranges: Int32Array, chunk: ScoredChunk, pending: Int32Array): void {
    const count = states.length;
    const rows = rangeRows(ranges);
    const rescale = new Float64Array(count);
    for (let q = 0; q < count; q++) {
      const st = states[q];
      const cmax = chunkMaxOf(chunk, q, rows);
      if (Number.isNaN(st.ref)) st.ref = cmax;
      rescale[q] = weightRescale(chunk, cmax, st.ref);
    }
    const genusOf = states[0].index.genusOf;
    for (let r = 0; r < ranges.length; r += 2) {
      for (let p = ranges[r]; p < ranges[r + 1]; p++) pending[genusOf[p]]++;
    }
    if (chunk.weights) TreeSoftmax.foldWeights(states, ranges, chunk, chunk.weights, rescale);
    else TreeSoftmax.foldLogits(states, ranges, chunk);
  }

  /** After the last chunk: each image's approximate total, and its count of species still approximate per genus. */
  static endFold(states: readonly TreeSoftmax[], pending: Int32Array): void {
    for (const st of states) {
      const a = st.genusApprox;
      let total = 0;
      for (let g = 0; g < a.length; g++) total += a[g];
      st.approxTotal = total;
      st.genusPending.set(pending);
    }
  }

  /**
   * The fast path, for float32 weights exp(logit − chunk max + offset) from the backend. Genus sums are kept in chunk
   * units and rescaled once per genus. When the backend also reports each query's top weights and smallest weight,
   * and no weight is subnormal, the per-species work is one add (the `foldGenusSums` kernel); otherwise the top list is tracked here (`enter[q]` is
   * its threshold in chunk units) and subnormal weights are recomputed in float64.
   */
  private static foldWeights(states: readonly TreeSoftmax[], ranges: Int32Array, chunk: ScoredChunk, weights: Float32Array, rescale: Float64Array): void {
    const count = states.length;
    const { queryStride: qs, speciesStride: ss, topWeights, topRows, topCount, minWeights } = chunk;
    const genusOf = states[0].index.genusOf;
    const reported =
      topWeights !== undefined && topRows !== undefined && topCount !== undefined && minWeights !== undefined && minWeights.every((w) => w >= FLT_MIN);
    if (reported) {
      for (let q = 0; q < count; q++) {
        const st = states[q];
        for (let j = 0; j < topCount; j++) {
          const w = topWeights[q * topCount + j] * rescale[q];
          if (w > st.top[0]) st.enterTop(w, rowPosition(ranges, topRows[q * topCount + j]));
        }
      }
      kernels.foldGenusSums(weights, qs, ss, ranges, genusOf, rescale, states.map((st) => st.genusApprox), FOLD_THREADS);
      return;
    }
    const acc = new Float64Array(count);
    const enter = Float64Array.from(states, (st, q) => st.top[0] / rescale[q]);
    let i = 0;
    for (let r = 0; r < ranges.length; r += 2) {
      const end = ranges[r + 1];
      let genus = genusOf[ranges[r]];
      for (let p = ranges[r]; p <= end; p++, i++) {
        const g = p < end ? genusOf[p] : -1;
        if (g !== genus) {
          for (let q = 0; q < count; q++) {
            states[q].genusApprox[genus] += acc[q] * rescale[q];
            acc[q] = 0;
          }
          if (p === end) break;
          genus = g;
        }
        const base = i * ss;
        for (let q = 0; q < count; q++) {
          const w32 = weights[base + q * qs];
          if (w32 >= FLT_MIN) {
            acc[q] += w32;
            if (w32 > enter[q]) enter[q] = states[q].enterTop(w32 * rescale[q], p) / rescale[q];
          } else {
            // Subnormal or zero float32 (far below the chunk max): this species' logit is recomputed in float64.
            const w = states[q].exactWeightAt(p);
            acc[q] += w / rescale[q];
            if (w > states[q].top[0]) enter[q] = states[q].enterTop(w, p) / rescale[q];
          }
        }
      }
    }
  }

  /** The general path, for backends that return logits only (the TypeScript scorer). */
  private static foldLogits(states: readonly TreeSoftmax[], ranges: Int32Array, chunk: ScoredChunk): void {
    const { queryStride: qs, speciesStride: ss } = chunk;
    const logits = chunk.logits!;
    const genusOf = states[0].index.genusOf;
    states.forEach((st, q) => {
      let i = 0;
      for (let r = 0; r < ranges.length; r += 2) {
        for (let p = ranges[r]; p < ranges[r + 1]; p++, i++) {
          const w = Math.exp(logits[q * qs + i * ss] - st.ref);
          st.genusApprox[genusOf[p]] += w;
          if (w > st.top[0]) st.enterTop(w, p);
        }
      }
    });
  }

  /** Inserts a weight into the ascending top list, dropping the smallest; returns the new entry threshold. */
  private enterTop(w: number, position: number): number {
    const a = this.top;
    const at = this.topPositions;
    let i = 0;
    while (i + 1 < a.length && a[i + 1] < w) {
      a[i] = a[i + 1];
      at[i] = at[i + 1];
      i++;
    }
    a[i] = w;
    at[i] = position;
    return a[0];
  }

  /**
   * Pass 2 over one stored chunk: each image that asked for more (`needsCollection`) takes the species whose
   * approximate weight, computed exactly as in pass 1, lies in [floor, collectedFloor).
   */
  static collectChunk(states: readonly TreeSoftmax[], ranges: Int32Array, chunk: ScoredChunk): void {
    const active = states.filter((s) => s.needsCollection);
    if (active.length === 0) return;
    const rows = rangeRows(ranges);
    const { logits, weights, queryStride: qs, speciesStride: ss } = chunk;
    const n = active.length;
    const columns = Int32Array.from(active, (st) => states.indexOf(st));
    const rescale = new Float64Array(n);
    const skipBelow = new Float64Array(n);
    active.forEach((st, j) => {
      rescale[j] = weightRescale(chunk, chunkMaxOf(chunk, columns[j], rows), st.ref);
      skipBelow[j] = st.skipThreshold(rescale[j]);
    });
    if (!weights) {
      const positions = chunkPositions(ranges, rows);
      for (let i = 0; i < rows; i++) {
        for (let j = 0; j < n; j++) active[j].offer(positions[i], Math.exp(logits![i * ss + columns[j] * qs] - active[j].ref));
      }
      return;
    }
    // Most species are below every image's floor: the scan keeps only the rows worth a look, per image.
    const found = scanScratch(n, rows);
    kernels.scanRows(weights, qs, ss, rows, columns, skipBelow, found.rows, found.counts);
    const positions = chunkPositions(ranges, rows);
    active.forEach((st, j) => {
      const column = columns[j] * qs;
      const base = j * rows;
      for (let f = 0; f < found.counts[j]; f++) {
        const i = found.rows[base + f];
        const w32 = weights[i * ss + column];
        const p = positions[i];
        st.offer(p, w32 >= FLT_MIN ? w32 * rescale[j] : st.exactWeightAt(p));
      }
    });
  }

  /** In a chunk's float32 units: no weight below this can enter the band, so most species cost one compare. */
  private skipThreshold(rescale: number): number {
    return (Math.max(this.floor, this.bandCut) / rescale) * (1 - 1e-9);
  }

  /** exp(float64 logit − ref) of one species: for the rare weights the backend could not represent. */
  private exactWeightAt(position: number): number {
    const { index } = this;
    return Math.exp(this.settings.logitScale * dotFloat64(index.vectors, position * index.dim, this.query, index.dim) - this.ref);
  }

  /** Collects a species whose approximate weight (computed exactly as in pass 1) is in [floor, collectedFloor). */
  private offer(position: number, w: number): void {
    if (w >= this.floor && w < this.collectedFloor && w >= this.bandCut) {
      this.bandPositions.push(position);
      this.bandWeights.push(w);
      if (this.bandWeights.length >= BAND_COMPACT_FACTOR * (this.selectionRoom() + 1) + BAND_COMPACT_SLACK) this.compactBand();
    }
  }

  /** Species the selection rounds may still rescore. */
  private selectionRoom(): number {
    return Math.max(0, Math.floor(this.settings.maxRescored * SELECT_SHARE) - this.rescored);
  }

  /**
   * Drops the band's species below its (room + 1)-th largest weight: rescore() would trim them anyway, and that weight
   * can only rise as more species are offered, so the trim rescore() makes later is unchanged. Keeps ties at the cut.
   */
  private compactBand(): void {
    const cut = kthLargest(Float64Array.from(this.bandWeights), this.selectionRoom() + 1);
    let kept = 0;
    for (let j = 0; j < this.bandWeights.length; j++) {
      if (this.bandWeights[j] < cut) continue;
      this.bandPositions[kept] = this.bandPositions[j];
      this.bandWeights[kept] = this.bandWeights[j];
      kept++;
    }
    this.bandPositions.length = kept;
    this.bandWeights.length = kept;
    this.bandCut = cut;
  }

  get needsCollection(): boolean {
    return this.floor < this.collectedFloor;
  }

  /**
   * After pass 1, and after each collection pass: rescores what was collected, checks, and if needed lowers the floor
   * (see the class comment). Returns whether another collection pass is needed.
   */
  selectFloor(): boolean {
    if (this.selectRounds > 0) {
      this.collectedFloor = this.floor;
      this.rescore();
      if (this.settledTop() || this.budgetSpent || this.selectRounds >= MAX_SELECT_ROUNDS) return false;
      if (!this.speciesSettled) this.floorScale.species *= ROUND_STEP;
      if (!this.minProbSettled) this.floorScale.minProb *= ROUND_STEP;
      if (!this.massSettled) this.floorScale.mass *= ROUND_STEP;
    }
    this.selectRounds++;
    const { settings, bound } = this;
    const slack = Math.exp(-(2 * bound.logit + 1e-9));
    // Species top-k: 2δ below the (k+1)-th largest approximate weight (0 when there are at most k + 1 candidates).
    let floor = this.top[this.top.length - this.speciesK() - 1] * slack * this.floorScale.species;
    const total = this.sumExact() + this.sumRest();
    // pybioclip min_prob: every species whose probability could exceed it.
    if (settings.minProb > 0) floor = Math.min(floor, settings.minProb * total * slack * slack * this.floorScale.minProb);
    floor = Math.min(floor, this.massFloor(total) * this.floorScale.mass);
    if (floor < this.floor) this.floor = floor;
    // Every species at or above the floor is in the tracked list when the list's smallest entry is below the floor
    // (or the list holds every candidate): take the band from it and check again, without a pass over the chunks.
    const listHoldsAll = this.topPositions[0] < 0 || this.top[0] < this.floor;
    if (this.needsCollection && listHoldsAll) {
      for (let j = 0; j < this.top.length; j++) if (this.topPositions[j] >= 0) this.offer(this.topPositions[j], this.top[j]);
      return this.selectFloor();
    }
    return this.needsCollection;
  }

  /**
   * The highest floor F such that the approximate mass left below it, bounded per genus by min(mass, pending × F),
   * stays within what `tolerance` allows. Found over a histogram of genus mean weights (cheap: once per genus).
   */
  private massFloor(total: number): number {
    const budget = (this.settings.tolerance * total) / restMassError(this.bound.weight, 1);
    const below = MASS_SCRATCH;
    const counts = COUNT_SCRATCH;
    kernels.genusHistogram(this.genusApprox, this.genusPending, below, counts);
    // Σ over genera of min(m, n·F) at F = bucketFloor(b): genera with mean < F (lower buckets) give m, the rest ≤ n·F.
    let countAbove = 0;
    for (let b = 0; b < BUCKET_COUNT; b++) countAbove += counts[b];
    let massBelow = 0;
    let best = 0;
    for (let b = 0; b < BUCKET_COUNT; b++) {
      const f = bucketFloor(b);
      if (massBelow + countAbove * f > budget) break;
      best = f;
      massBelow += below[b];
      countAbove -= counts[b];
    }
    return best;
  }

  /** After the last collection: exact species, group sums and certification. */
  finish(): void {
    this.rescore();
    this.settledTop();
    this.settleGroups();
  }

  get partition(): number {
    return this.partitionValue;
  }

  /** Bound on the absolute error of any probability this image reports. */
  get errorBound(): number {
    const screening = restMassError(this.bound.weight, this.restMass) / this.partitionValue;
    // With min_prob unsettled, a sum may lack species never rescored: at most all the approximate mass.
    const unsettledMinProb = this.settings.minProb > 0 && !this.minProbSettled ? (this.restMass + restMassError(this.bound.weight, this.restMass)) / this.partitionValue : 0;
    return Math.max(screening, unsettledMinProb + screening);
  }

  get rescoredCount(): number {
    return this.rescored;
  }

  /** The k best species (all float64-scored), best first; ties go to the lower position (lineage order). */
  topSpecies(k: number): ExactSpecies[] {
    const n = this.exactLogit.length;
    const take = Math.min(k, n);
    if (take === 0) return [];
    const kth = kthLargest(Float64Array.from(this.exactLogit), take);
    const picked: number[] = [];
    const ties: number[] = [];
    for (let j = 0; j < n; j++) {
      if (this.exactLogit[j] > kth) picked.push(j);
      else if (this.exactLogit[j] === kth) ties.push(j);
    }
    ties.sort((a, b) => this.exactPosition[a] - this.exactPosition[b]);
    picked.push(...ties.slice(0, take - picked.length));
    return picked
      .map((j) => ({ position: this.exactPosition[j], logit: this.exactLogit[j], weight: this.exactWeight[j] }))
      .sort(byLogitDescending);
  }

  rankTotals(rank: number): RankTotals {
    return this.totals[rank];
  }

  /**
   * The `k` groups of largest mass at a rank above species, largest first (ties to the lower index), for k up to the
   * rank's reported count (at least 1): kept from the last check of `finish`.
   */
  leadingGroupsAt(rank: number, k: number): number[] {
    const leading = this.leadingGroups[rank];
    if (k > leading.length && leading.length === Math.max(this.settings.certifyTop[rank], 1)) {
      throw new RangeError(`leading groups at rank ${rank} were kept for k ≤ ${leading.length}, asked for ${k}`);
    }
    return leading.slice(0, k);
  }

  /** The rank's top-1 (and the answer threshold test) is the float64 one. */
  top1Certified(rank: number): boolean {
    return this.top1Ranks[rank];
  }

  /** The rank's whole reported top-k order is the float64 one. */
  topKCertified(rank: number): boolean {
    return this.topKRanks[rank];
  }

  /**
   * Float64 logits for the collected band; their approximate weights are swapped for exact ones. A band larger than
   * the remaining selection budget keeps its heaviest species; the lightest one left out bounds all the others.
   */
  private rescore(): void {
    const { index, settings } = this;
    let order = this.bandPositions.map((_, j) => j);
    const room = this.selectionRoom();
    if (order.length > room) {
      // Keep the species strictly above the (room + 1)-th largest weight; that weight bounds everything left out.
      const cut = kthLargest(Float64Array.from(this.bandWeights), room + 1);
      order = order.filter((j) => this.bandWeights[j] > cut);
      this.leftOutMax = Math.max(this.leftOutMax, cut);
      this.budgetSpent = true;
    }
    const positions = Int32Array.from(order, (j) => this.bandPositions[j]);
    const dots = new Float64Array(positions.length);
    kernels.dotRows(index.vectors, index.dim, positions, this.query, dots);
    for (let o = 0; o < order.length; o++) {
      const j = order[o];
      const p = positions[o];
      const logit = settings.logitScale * dots[o];
      const weight = Math.exp(logit - this.ref);
      const g = index.genusOf[p];
      this.genusExact[g] += weight;
      this.exactTotal += weight;
      // Subtracting leaves float64 residue; a genus with nothing approximate left gets an exact zero.
      const approx = --this.genusPending[g] === 0 ? 0 : this.genusApprox[g] - this.bandWeights[j];
      this.approxTotal += approx - this.genusApprox[g];
      this.genusApprox[g] = approx;
      this.exactPosition.push(p);
      this.exactLogit.push(logit);
      this.exactWeight.push(weight);
    }
    this.rescored += order.length;
    this.bandPositions.length = 0;
    this.bandWeights.length = 0;
    this.bandCut = 0;
  }

  /** Checks, now exactly, the conditions the floor aimed at. */
  private settledTop(): boolean {
    const { settings, bound } = this;
    // A species never rescored has approximate weight below the floor, or at most leftOutMax after a budget trim.
    const uncollected = this.candidates.count - this.exactLogit.length;
    const restWeight = Math.max(Math.min(this.floor, this.collectedFloor), this.leftOutMax);
    const restUpper = uncollected > 0 ? this.ref + Math.log(restWeight) + 1e-12 : -Infinity;
    const restMass = this.sumRest();
    const z = this.sumExact() + restMass;
    const k = this.speciesK();
    const kth = this.exactLogit.length >= k ? kthLargest(Float64Array.from(this.exactLogit), k) : -Infinity;
    this.speciesSettled = restUpper === -Infinity || kth > restUpper + bound.logit;
    this.massSettled = restMassError(bound.weight, restMass) / z <= settings.tolerance;
    this.minProbSettled = true;
    if (settings.minProb > 0 && restUpper !== -Infinity) {
      const zLow = z - restMassError(bound.weight, restMass);
      this.minProbSettled = restUpper + bound.logit - this.ref < Math.log(settings.minProb * zLow);
    }
    return this.speciesSettled && this.massSettled && this.minProbSettled;
  }

  /**
   * Σ of the approximate genus sums still outstanding, from the running total: good to ≈1e-16 of the partition,
   * which is all the selection needs. The reported bound uses `restMassPrecise`.
   */
  private sumRest(): number {
    return Math.max(0, this.approxTotal);
  }

  /** The same sum taken genus by genus, so that a remainder far below the partition keeps its relative precision. */
  private restMassPrecise(): number {
    let s = 0;
    const a = this.genusApprox;
    for (let g = 0; g < a.length; g++) if (a[g] > 0) s += a[g];
    return s;
  }

  private sumExact(): number {
    return this.exactTotal;
  }

  private settleGroups(): void {
    const { settings } = this;
    for (let round = 0; ; round++) {
      this.restMass = this.restMassPrecise();
      this.partitionValue = this.sumExact() + this.restMass;
      this.buildTotals();
      const contested = new Set<number>();
      const top1: boolean[] = [];
      const topK: boolean[] = [];
      for (let r = 0; r < SPECIES_RANK; r++) {
        const k = settings.certifyTop[r];
        // The rank's leading groups, found once: every check below and the reported rows read prefixes of this list.
        const leading = leadingGroups(this.totals[r].mass, Math.max(k, 1));
        this.leadingGroups[r] = leading;
        const forced = settings.resolveTopK ? k : Math.min(k, 1);
        const forcedOk = this.checkRank(r, forced, leading, contested) && this.minProbSettled;
        top1.push(forcedOk && (forced >= 1 || this.checkRank(r, 1, leading, null)));
        topK.push(forced === k ? forcedOk : this.checkRank(r, k, leading, null) && this.minProbSettled);
      }
      top1.push(this.speciesSettled);
      topK.push(this.speciesSettled);
      this.top1Ranks = top1;
      this.topKRanks = topK;
      if (contested.size === 0 || round >= MAX_RESOLVE_ROUNDS || settings.minProb > 0) return;
      if (!this.resolveGenera(contested)) return;
    }
  }

  /** Fills `totals` for every rank above species from the per-genus sums. */
  private buildTotals(): void {
    const { index, settings, bound, totals } = this;
    const { mass, error } = totals[GENUS_RANK];
    if (settings.minProb > 0) {
      mass.fill(0);
      error.fill(0);
      // pybioclip sums only species above min_prob; all of those are in the exact set once minProbSettled holds.
      // If the budget ran out first, species not rescored may belong in the sums: their whole approximate mass is the
      // error interval.
      const cut = settings.minProb * this.partitionValue;
      for (let j = 0; j < this.exactWeight.length; j++) {
        if (this.exactWeight[j] > cut) mass[index.genusOf[this.exactPosition[j]]] += this.exactWeight[j];
      }
      if (!this.minProbSettled) {
        for (let g = 0; g < mass.length; g++) if (this.genusApprox[g] > 0) error[g] = this.genusApprox[g] + restMassError(bound.weight, this.genusApprox[g]);
      }
    } else {
      kernels.genusTotals(this.genusApprox, this.genusExact, restMassError(bound.weight, 1), mass, error);
    }
    for (let r = GENUS_RANK - 1; r >= 0; r--) {
      const child = totals[r + 1];
      const parents = index.groupParents(r + 1);
      kernels.sumIntoParents(child.mass, child.error, parents, totals[r].mass, totals[r].error);
    }
  }

  /**
   * Whether the top k groups at `rank` (and the answer threshold test) are in their float64 order. Adds to
   * `contested`, when given, every group whose interval [mass − error, mass + error] overlaps a neighbour it must be
   * ordered against.
   */
  private checkRank(rank: number, k: number, leading: readonly number[], contested: Set<number> | null): boolean {
    const needAnswer = this.settings.threshold !== undefined;
    if (k === 0 && !needAnswer) return true;
    const { mass, error } = this.totals[rank];
    const top = leading.slice(0, Math.max(k, 1));
    if (top.length === 0) return true;
    let ok = true;
    const flag = (g: number) => {
      if (error[g] > 0) contested?.add(encodeGroup(rank, g));
      ok = false;
    };
    if (this.settings.relativeTolerance > 0 && k > 0) {
      for (const g of top) if (error[g] > this.settings.relativeTolerance * mass[g]) flag(g);
    }
    for (let i = 0; i + 1 < top.length; i++) {
      const a = top[i];
      const b = top[i + 1];
      if (mass[a] - error[a] <= mass[b] + error[b] && (error[a] > 0 || error[b] > 0)) {
        flag(a);
        flag(b);
      }
    }
    const last = top[top.length - 1];
    for (const g of reachingGroups(mass, error, mass[last] - error[last], error[last] > 0)) {
      if (!top.includes(g)) {
        flag(g);
        flag(last);
      }
    }
    if (needAnswer) {
      const g = top[0];
      const z = this.partitionValue;
      const zErr = restMassError(this.bound.weight, this.restMass);
      const low = (mass[g] - error[g]) / (z + zErr);
      const high = (mass[g] + error[g]) / Math.max(z - zErr, Number.MIN_VALUE);
      const t = this.settings.threshold!;
      if (low < t && high >= t && (error[g] > 0 || zErr > 0)) flag(g);
    }
    return ok;
  }

  /** Rescores every candidate of the contested groups' genera in float64. False when over budget. */
  private resolveGenera(contested: Set<number>): boolean {
    const { index, candidates, settings } = this;
    const genusStarts = index.groupStarts(GENUS_RANK);
    let progressed = false;
    for (const code of contested) {
      const [rank, group] = decodeGroup(code);
      const [start, end] = index.groupRange(rank, group);
      const g0 = index.genusOf[start];
      const g1 = index.genusOf[end - 1];
      let cost = 0;
      for (let g = g0; g <= g1; g++) if (!this.genusResolved[g]) cost += countCandidates(candidates, genusStarts[g], genusStarts[g + 1]);
      if (this.rescored + cost > settings.maxRescored) continue;
      for (let g = g0; g <= g1; g++) {
        if (this.genusResolved[g]) continue;
        const members: number[] = [];
        forEachCandidateRange(candidates, genusStarts[g], genusStarts[g + 1], (s, e) => {
          for (let p = s; p < e; p++) members.push(p);
        });
        const dots = new Float64Array(members.length);
        kernels.dotRows(index.vectors, index.dim, Int32Array.from(members), this.query, dots);
        let sum = 0;
        for (const dot of dots) sum += Math.exp(settings.logitScale * dot - this.ref);
        this.exactTotal += sum - this.genusExact[g];
        this.approxTotal -= this.genusApprox[g];
        this.genusExact[g] = sum;
        this.genusApprox[g] = 0;
        this.genusPending[g] = 0;
        this.genusResolved[g] = 1;
      }
      this.rescored += cost;
      progressed = true;
    }
    return progressed;
  }
}

/** The species position of every row of a chunk (rows number the chunk's ranges in order). */
function chunkPositions(ranges: Int32Array, rows: number): Int32Array {
  const positions = new Int32Array(rows);
  let i = 0;
  for (let r = 0; r < ranges.length; r += 2) for (let p = ranges[r]; p < ranges[r + 1]; p++) positions[i++] = p;
  return positions;
}

/** Output buffers of scanRows, kept between calls: a collection pass would otherwise allocate images × rows per chunk. */
let scanBuffers = { rows: new Int32Array(0), counts: new Int32Array(0) };
function scanScratch(images: number, rows: number): { rows: Int32Array; counts: Int32Array } {
  if (scanBuffers.rows.length < images * rows || scanBuffers.counts.length < images) {
    scanBuffers = { rows: new Int32Array(images * rows), counts: new Int32Array(images) };
  }
  return scanBuffers;
}

/** Position of a chunk's row (rows number the chunk's ranges in order). */
function rowPosition(ranges: Int32Array, row: number): number {
  for (let r = 0; r < ranges.length; r += 2) {
    const n = ranges[r + 1] - ranges[r];
    if (row < n) return ranges[r] + row;
    row -= n;
  }
  throw new RangeError(`row ${row} beyond the chunk`);
}

/** The factor turning a chunk's float32 weights into exp(logit − ref). */
function weightRescale(chunk: ScoredChunk, chunkMax: number, ref: number): number {
  return Math.exp(chunkMax - (chunk.weightOffset ?? 0) - ref);
}

/** A chunk's max logit for one image: from the backend, or computed. */
function chunkMaxOf(chunk: ScoredChunk, q: number, rows: number): number {
  if (chunk.chunkMax) return chunk.chunkMax[q];
  let max = -Infinity;
  for (let i = 0; i < rows; i++) max = Math.max(max, chunk.logits![q * chunk.queryStride + i * chunk.speciesStride]);
  return max;
}

function byLogitDescending(a: ExactSpecies, b: ExactSpecies): number {
  return b.logit - a.logit || a.position - b.position;
}

/** Indices of the `k` largest positive masses, largest first; ties go to the lower index (lineage order). */
export function leadingGroups(mass: Float64Array, k: number): number[] {
  const out = new Int32Array(k);
  return Array.from(out.subarray(0, kernels.topGroups(mass, k, out)));
}

/** Scratch for reachingGroups: a few groups usually qualify; a larger answer is fetched again at its size. */
let reachingScratch = new Int32Array(256);

/** The groups (ascending) whose interval reaches `low`: see `ClassifyKernels.reachingGroups`. */
function reachingGroups(mass: Float64Array, error: Float64Array, low: number, lastHasError: boolean): Int32Array {
  let found = kernels.reachingGroups(mass, error, low, lastHasError, reachingScratch);
  if (found > reachingScratch.length) {
    reachingScratch = new Int32Array(found);
    found = kernels.reachingGroups(mass, error, low, lastHasError, reachingScratch);
  }
  return reachingScratch.subarray(0, found);
}

function encodeGroup(rank: number, group: number): number {
  return group * RANK_COUNT + rank;
}

function decodeGroup(code: number): [number, number] {
  return [code % RANK_COUNT, Math.floor(code / RANK_COUNT)];
}

function countCandidates(candidates: CandidateSet, start: number, end: number): number {
  let n = 0;
  forEachCandidateRange(candidates, start, end, (s, e) => {
    n += e - s;
  });
  return n;
}

/** The parts of [start, end) that are candidates, found by binary search over the sorted ranges. */
function forEachCandidateRange(candidates: CandidateSet, start: number, end: number, fn: (s: number, e: number) => void): void {
  const r = candidates.ranges;
  let lo = 0;
  let hi = r.length / 2;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (r[2 * mid + 1] <= start) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < r.length / 2 && r[2 * i] < end; i++) {
    const s = Math.max(start, r[2 * i]);
    const e = Math.min(end, r[2 * i + 1]);
    if (s < e) fn(s, e);
  }
}
