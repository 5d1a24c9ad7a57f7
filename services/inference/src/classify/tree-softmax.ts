import { rangeRows, type CandidateSet } from './candidates.ts';
import { GENUS_RANK, RANK_COUNT, SPECIES_RANK } from './ranks.ts';
import type { ScoredChunk, ScorerErrorBound } from './scorers/scorer.ts';
import type { SpeciesIndex } from './species-index.ts';
import { dotFloat64 } from './vectors.ts';
import { BUCKET_COUNT, bucketFloor, bucketOf, kthLargest } from './weight-histogram.ts';

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
  /** Per rank, how many leading groups must come out in the float64 order (0: rank not needed). */
  readonly certifyTop: readonly number[];
  /** Arbor's answer threshold, whose comparison with each rank's top-1 probability must also be exact. */
  readonly threshold: number | undefined;
}

/** One species scored exactly: position, float64 logit and weight exp(logit − ref). */
export interface ExactSpecies {
  readonly position: number;
  readonly logit: number;
  readonly weight: number;
}

export interface RankTotals {
  /** Numerator of each group's probability (divide by `partition`). */
  readonly mass: Float64Array;
  /** Bound on |mass − float64 mass| per group. */
  readonly error: Float64Array;
}

const MAX_RESOLVE_ROUNDS = 16;
const MAX_SELECT_ROUNDS = 4;
/** Share of `maxRescored` the selection rounds may use; the rest is kept for resolving contested groups. */
const SELECT_SHARE = 0.75;
/** Each later selection round lowers a failing floor by this factor (an octave of e ≈ 2.7 per round, cubed). */
const ROUND_STEP = Math.exp(-3);
/** Smallest normal float32. */
const FLT_MIN = 1.1754943508222875e-38;
/** Scratch for massFloor (synchronous, so one pair serves every image). */
const MASS_SCRATCH = new Float64Array(BUCKET_COUNT);
const COUNT_SCRATCH = new Float64Array(BUCKET_COUNT);

/**
 * The softmax of one image over the candidate species, made exact where it decides anything.
 *
 * Pass 1 (`foldChunk`, per scored chunk): per-genus float64 sums of the approximate weights exp(logit − ref), and the
 * k + 1 largest weights. `ref` is the first chunk's max and stays fixed: |logit| ≤ logitScale ≤ 300, so no weight
 * overflows or underflows. Per species and image that is one add and one (almost always false) comparison.
 * Then `selectFloor` picks a weight floor the float64 step must reach: 2δ below the (k+1)-th species (so the species
 * top-k cannot change), every species that could exceed `minProb`, and low enough that what stays approximate cannot
 * move any probability by more than `tolerance` (bounded per genus by min(mass, count × floor)).
 * Pass 2 (`collectChunk`, over the same stored chunks): gathers the species at or above the floor (trimmed to the
 * budget by weight); `rescore` recomputes them in float64 and swaps their approximate weights for exact ones. If an
 * exact check still fails, the failing floor is lowered and the next band collected, a few rounds at most.
 * Finally `settleGroups` sums every rank from the genus sums with an error interval per group, and rescores whole
 * genera in float64 wherever a top-k order (or the answer threshold) is not yet decided by those intervals.
 */
export class TreeSoftmax {
  private ref = Number.NaN;
  private readonly genusApprox: Float64Array;
  private readonly genusExact: Float64Array;
  private readonly genusResolved: Uint8Array;
  /** Candidates per genus whose weight is still approximate. */
  private readonly genusPending: Int32Array;
  /** The k + 1 largest approximate weights seen, ascending. */
  private readonly top: Float64Array;
  /** Species with approximate weight ≥ floor are collected; those ≥ collectedFloor already were. */
  private floor = Infinity;
  private collectedFloor = Infinity;
  /** After a budget trim, every species left out has approximate weight ≤ this (else the floor bounds them). */
  private leftOutMax = 0;
  private budgetSpent = false;
  private readonly bandPositions: number[] = [];
  private readonly bandWeights: number[] = [];
  private exactPosition: number[] = [];
  private exactLogit: number[] = [];
  private exactWeight: number[] = [];
  private rescored = 0;
  private selectRounds = 0;
  private floorScale = { species: 1, minProb: 1, mass: 1 };
  private partitionValue = Number.NaN;
  private restMass = 0;
  private totals: RankTotals[] = [];
  private certifiedRanks: boolean[] = [];
  private minProbSettled = true;
  private speciesSettled = false;
  private massSettled = false;

  constructor(
    private readonly index: SpeciesIndex,
    private readonly candidates: CandidateSet,
    private readonly query: Float64Array,
    private readonly bound: ScorerErrorBound,
    private readonly settings: TreeSoftmaxSettings,
  ) {
    const genera = index.groupCount(GENUS_RANK);
    this.genusApprox = new Float64Array(genera);
    this.genusExact = new Float64Array(genera);
    this.genusResolved = new Uint8Array(genera);
    this.genusPending = new Int32Array(genera);
    this.top = new Float64Array(this.speciesK() + 1);
  }

  private speciesK(): number {
    return Math.min(Math.max(this.settings.certifyTop[SPECIES_RANK], 1), this.candidates.count);
  }

  /**
   * Pass 1 over one scored chunk, for every image. The chunk's arrays are walked species by species with the images
   * inside, so a species-major chunk (ONNX Runtime) is read once, sequentially.
   */
  static foldChunk(states: readonly TreeSoftmax[], ranges: Int32Array, chunk: ScoredChunk): void {
    const count = states.length;
    const rows = rangeRows(ranges);
    const rescale = new Float64Array(count);
    for (let q = 0; q < count; q++) {
      const st = states[q];
      const cmax = chunkMaxOf(chunk, q, rows);
      if (Number.isNaN(st.ref)) st.ref = cmax;
      rescale[q] = Math.exp(cmax - st.ref);
    }
    if (chunk.weights) TreeSoftmax.foldWeights(states, ranges, chunk, chunk.weights, rescale);
    else TreeSoftmax.foldLogits(states, ranges, chunk);
  }

  /**
   * The fast path, for float32 weights exp(logit − chunk max) from the backend. Genus sums are kept in chunk units
   * and rescaled once per genus; `enter[q]` is the top-list threshold in chunk units.
   */
  private static foldWeights(states: readonly TreeSoftmax[], ranges: Int32Array, chunk: ScoredChunk, weights: Float32Array, rescale: Float64Array): void {
    const count = states.length;
    const { logits, queryStride: qs, speciesStride: ss } = chunk;
    const acc = new Float64Array(count);
    const enter = Float64Array.from(states, (st, q) => st.top[0] / rescale[q]);
    const genusOf = states[0].index.genusOf;
    let i = 0;
    for (let r = 0; r < ranges.length; r += 2) {
      const end = ranges[r + 1];
      let genus = genusOf[ranges[r]];
      let run = 0;
      for (let p = ranges[r]; p <= end; p++, i++) {
        const g = p < end ? genusOf[p] : -1;
        if (g !== genus) {
          for (let q = 0; q < count; q++) {
            states[q].genusApprox[genus] += acc[q] * rescale[q];
            states[q].genusPending[genus] += run;
            acc[q] = 0;
          }
          if (p === end) break;
          run = 0;
          genus = g;
        }
        run++;
        const base = i * ss;
        for (let q = 0; q < count; q++) {
          const w32 = weights[base + q * qs];
          if (w32 >= FLT_MIN) {
            acc[q] += w32;
            if (w32 > enter[q]) enter[q] = states[q].enterTop(w32 * rescale[q]) / rescale[q];
          } else {
            // Subnormal or zero float32 (≥ 87 logits below the chunk max): recomputed in float64.
            const w = Math.exp(logits[base + q * qs] - states[q].ref);
            acc[q] += w / rescale[q];
            if (w > states[q].top[0]) enter[q] = states[q].enterTop(w) / rescale[q];
          }
        }
      }
    }
  }

  /** The general path, for backends that return logits only (the TypeScript scorer). */
  private static foldLogits(states: readonly TreeSoftmax[], ranges: Int32Array, chunk: ScoredChunk): void {
    const { logits, queryStride: qs, speciesStride: ss } = chunk;
    const genusOf = states[0].index.genusOf;
    states.forEach((st, q) => {
      let i = 0;
      for (let r = 0; r < ranges.length; r += 2) {
        for (let p = ranges[r]; p < ranges[r + 1]; p++, i++) {
          const w = Math.exp(logits[q * qs + i * ss] - st.ref);
          const g = genusOf[p];
          st.genusApprox[g] += w;
          st.genusPending[g]++;
          if (w > st.top[0]) st.enterTop(w);
        }
      }
    });
  }

  /** Inserts a weight into the ascending top list, dropping the smallest; returns the new entry threshold. */
  private enterTop(w: number): number {
    const a = this.top;
    let i = 0;
    while (i + 1 < a.length && a[i + 1] < w) {
      a[i] = a[i + 1];
      i++;
    }
    a[i] = w;
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
    const column = Int32Array.from(active, (st) => states.indexOf(st) * qs);
    const rescale = new Float64Array(n);
    const skipBelow = new Float64Array(n);
    active.forEach((st, j) => {
      rescale[j] = Math.exp(chunkMaxOf(chunk, states.indexOf(st), rows) - st.ref);
      // In chunk units nothing below this can reach the floor: most species are skipped on one float compare.
      skipBelow[j] = (st.floor / rescale[j]) * (1 - 1e-9);
    });
    let i = 0;
    for (let r = 0; r < ranges.length; r += 2) {
      for (let p = ranges[r]; p < ranges[r + 1]; p++, i++) {
        const base = i * ss;
        for (let j = 0; j < n; j++) {
          const at = base + column[j];
          if (weights) {
            const w32 = weights[at];
            if (w32 < skipBelow[j] && w32 >= FLT_MIN) continue;
            active[j].offer(p, w32 >= FLT_MIN ? w32 * rescale[j] : Math.exp(logits[at] - active[j].ref));
          } else {
            active[j].offer(p, Math.exp(logits[at] - active[j].ref));
          }
        }
      }
    }
  }

  /** Collects a species whose approximate weight (computed exactly as in pass 1) is in [floor, collectedFloor). */
  private offer(position: number, w: number): void {
    if (w >= this.floor && w < this.collectedFloor) {
      this.bandPositions.push(position);
      this.bandWeights.push(w);
    }
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
    let floor = this.top[0] * slack * this.floorScale.species;
    const total = this.sumExact() + this.sumRest();
    // pybioclip min_prob: every species whose probability could exceed it.
    if (settings.minProb > 0) floor = Math.min(floor, settings.minProb * total * slack * slack * this.floorScale.minProb);
    floor = Math.min(floor, this.massFloor(total) * this.floorScale.mass);
    if (floor < this.floor) this.floor = floor;
    return this.needsCollection;
  }

  /**
   * The highest floor F such that the approximate mass left below it, bounded per genus by min(mass, pending × F),
   * stays within what `tolerance` allows. Found over a histogram of genus mean weights (cheap: once per genus).
   */
  private massFloor(total: number): number {
    const budget = (this.settings.tolerance * total) / (2 * Math.max(this.bound.weight, 1e-300));
    const below = MASS_SCRATCH;
    const counts = COUNT_SCRATCH;
    below.fill(0);
    counts.fill(0);
    for (let g = 0; g < this.genusApprox.length; g++) {
      const n = this.genusPending[g];
      const m = this.genusApprox[g];
      if (n <= 0 || !(m > 0)) continue;
      const b = bucketOf(m / n);
      below[b] += m;
      counts[b] += n;
    }
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
    return (2 * this.bound.weight * this.restMass) / this.partitionValue;
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

  certified(rank: number): boolean {
    return this.certifiedRanks[rank];
  }

  /**
   * Float64 logits for the collected band; their approximate weights are swapped for exact ones. A band larger than
   * the remaining selection budget keeps its heaviest species; the lightest one left out bounds all the others.
   */
  private rescore(): void {
    const { index, settings } = this;
    let order = this.bandPositions.map((_, j) => j);
    const room = Math.max(0, Math.floor(settings.maxRescored * SELECT_SHARE) - this.rescored);
    if (order.length > room) {
      // Keep the species strictly above the (room + 1)-th largest weight; that weight bounds everything left out.
      const cut = kthLargest(Float64Array.from(this.bandWeights), room + 1);
      order = order.filter((j) => this.bandWeights[j] > cut);
      this.leftOutMax = Math.max(this.leftOutMax, cut);
      this.budgetSpent = true;
    }
    for (const j of order) {
      const p = this.bandPositions[j];
      const logit = settings.logitScale * dotFloat64(index.vectors, p * index.dim, this.query, index.dim);
      const weight = Math.exp(logit - this.ref);
      const g = index.genusOf[p];
      this.genusExact[g] += weight;
      // Subtracting leaves float64 residue; a genus with nothing approximate left gets an exact zero.
      this.genusApprox[g] = --this.genusPending[g] === 0 ? 0 : this.genusApprox[g] - this.bandWeights[j];
      this.exactPosition.push(p);
      this.exactLogit.push(logit);
      this.exactWeight.push(weight);
    }
    this.rescored += order.length;
    this.bandPositions.length = 0;
    this.bandWeights.length = 0;
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
    this.massSettled = (2 * bound.weight * restMass) / z <= settings.tolerance;
    this.minProbSettled = true;
    if (settings.minProb > 0 && restUpper !== -Infinity) {
      const zLow = z - 2 * bound.weight * restMass;
      this.minProbSettled = restUpper + bound.logit - this.ref < Math.log(settings.minProb * zLow);
    }
    return this.speciesSettled && this.massSettled && this.minProbSettled;
  }

  private sumRest(): number {
    let s = 0;
    for (const v of this.genusApprox) if (v > 0) s += v;
    return s;
  }

  private sumExact(): number {
    let s = 0;
    for (const v of this.genusExact) s += v;
    return s;
  }

  private settleGroups(): void {
    const { settings } = this;
    for (let round = 0; ; round++) {
      this.restMass = this.sumRest();
      this.partitionValue = this.sumExact() + this.restMass;
      this.buildTotals();
      const contested = new Set<number>();
      const certified: boolean[] = [];
      for (let r = 0; r < SPECIES_RANK; r++) certified.push(this.checkRank(r, contested) && this.minProbSettled);
      certified.push(this.speciesSettled);
      this.certifiedRanks = certified;
      if (contested.size === 0 || round >= MAX_RESOLVE_ROUNDS || settings.minProb > 0) return;
      if (!this.resolveGenera(contested)) return;
    }
  }

  /** Fills `totals` for every rank above species from the per-genus sums. */
  private buildTotals(): void {
    const { index, settings, bound } = this;
    const genera = index.groupCount(GENUS_RANK);
    const mass = new Float64Array(genera);
    const error = new Float64Array(genera);
    if (settings.minProb > 0) {
      // pybioclip sums only species above min_prob; all of those are in the exact set once minProbSettled holds.
      const cut = settings.minProb * this.partitionValue;
      for (let j = 0; j < this.exactWeight.length; j++) {
        if (this.exactWeight[j] > cut) mass[index.genusOf[this.exactPosition[j]]] += this.exactWeight[j];
      }
    } else {
      for (let g = 0; g < genera; g++) {
        const rest = Math.max(0, this.genusApprox[g]);
        mass[g] = this.genusExact[g] + this.genusApprox[g];
        error[g] = bound.weight * rest;
      }
    }
    const totals: RankTotals[] = new Array(RANK_COUNT);
    totals[GENUS_RANK] = { mass, error };
    for (let r = GENUS_RANK - 1; r >= 0; r--) {
      const child = totals[r + 1];
      const parents = index.groupParents(r + 1);
      const m = new Float64Array(index.groupCount(r));
      const e = new Float64Array(index.groupCount(r));
      for (let g = 0; g < parents.length; g++) {
        m[parents[g]] += child.mass[g];
        e[parents[g]] += child.error[g];
      }
      totals[r] = { mass: m, error: e };
    }
    this.totals = totals;
  }

  /**
   * Whether the top groups at `rank` are in their float64 order. Adds to `contested` (as genus ranges) every group
   * whose interval [mass − error, mass + error] overlaps a neighbour it must be ordered against.
   */
  private checkRank(rank: number, contested: Set<number>): boolean {
    const k = this.settings.certifyTop[rank];
    const needAnswer = this.settings.threshold !== undefined;
    if (k === 0 && !needAnswer) return true;
    const { mass, error } = this.totals[rank];
    const want = Math.max(k, 1);
    const top = topGroups(mass, want);
    if (top.length === 0) return true;
    let ok = true;
    const flag = (g: number) => {
      if (error[g] > 0) contested.add(encodeGroup(rank, g));
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
    const lastLow = mass[last] - error[last];
    for (let g = 0; g < mass.length; g++) {
      if (mass[g] + error[g] >= lastLow && mass[g] > 0 && (error[g] > 0 || error[last] > 0) && !top.includes(g)) {
        flag(g);
        flag(last);
      }
    }
    if (needAnswer) {
      const g = top[0];
      const z = this.partitionValue;
      const zErr = 2 * this.bound.weight * this.restMass;
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
        let sum = 0;
        forEachCandidateRange(candidates, genusStarts[g], genusStarts[g + 1], (s, e) => {
          for (let p = s; p < e; p++) sum += Math.exp(settings.logitScale * dotFloat64(index.vectors, p * index.dim, this.query, index.dim) - this.ref);
        });
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

/** A chunk's max logit for one image: from the backend, or computed. */
function chunkMaxOf(chunk: ScoredChunk, q: number, rows: number): number {
  if (chunk.chunkMax) return chunk.chunkMax[q];
  let max = -Infinity;
  for (let i = 0; i < rows; i++) max = Math.max(max, chunk.logits[q * chunk.queryStride + i * chunk.speciesStride]);
  return max;
}

function byLogitDescending(a: ExactSpecies, b: ExactSpecies): number {
  return b.logit - a.logit || a.position - b.position;
}

/** Indices of the `k` largest positive masses, largest first; ties go to the lower index (lineage order). */
export function topGroups(mass: Float64Array, k: number): number[] {
  const top: number[] = [];
  for (let g = 0; g < mass.length; g++) {
    const m = mass[g];
    if (!(m > 0)) continue;
    if (top.length === k && m <= mass[top[k - 1]]) continue;
    let i = top.length === k ? k - 1 : top.length;
    while (i > 0 && mass[top[i - 1]] < m) i--;
    top.splice(i, 0, g);
    if (top.length > k) top.pop();
  }
  return top;
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
