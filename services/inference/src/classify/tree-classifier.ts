import { ClassifyScratchPool, type ClassifyScratch } from './classify-scratch.ts';
import { candidateChunks, resolveCandidates, type CandidateSet, type Subset } from './candidates.ts';
import { ClassifyError } from './errors.ts';
import { rankIndex, RANKS, SPECIES_RANK, type RankName } from './ranks.ts';
import { groupRow, type PredictionRow } from './rows.ts';
import { JsSpeciesScorer } from './scorers/js-scorer.ts';
import type { ScoredChunk, ScorerErrorBound, SpeciesScorer } from './scorers/scorer.ts';
import type { SpeciesIndex } from './species-index.ts';
import { trackedCount, TreeSoftmax, type TreeSoftmaxSettings } from './tree-softmax.ts';
import { unitFloat64 } from './vectors.ts';

export const DEFAULT_K = 5;
export const DEFAULT_THRESHOLD = 0.5;
/**
 * Target for the absolute error of any reported probability, against float64. The bound is rigorous, built on the
 * float32 screening's worst case (≈4.6e-3 logits at scale 100, where the measured error is ≈4e-6), so proving it
 * costs float64 rescoring of every species that carries mass; 1e-3 keeps that cheap for confident images while
 * ordering is certified separately. Lower it when probabilities themselves are compared.
 */
export const DEFAULT_TOLERANCE = 1e-3;
/**
 * Float64 rescoring budget per image (≈1 µs per species): 3/4 for the species near the top, the rest for resolving
 * contested groups. Caps the exact step near 8 ms however flat the distribution is.
 */
export const DEFAULT_MAX_RESCORED = 8192;
/** CLIP clamps its learned scale at 100; above 300 the fixed-reference float64 weights could overflow. */
export const MAX_LOGIT_SCALE = 300;

export interface TreeOfLifeClassifierOptions {
  /** exp(learned logit_scale) of the model that made the embeddings (manifest `logitScale`). */
  readonly logitScale: number;
  /** Screening backend; defaults to the exact but slow TypeScript scorer. */
  readonly scorer?: SpeciesScorer;
  /** Target absolute error of any probability (default 1e-3, rigorous; see DEFAULT_TOLERANCE). */
  readonly tolerance?: number;
  /** Relative error allowed on each reported group probability (default: not enforced beyond `tolerance`). */
  readonly relativeTolerance?: number;
  readonly maxRescored?: number;
  /**
   * Also force the float64 order of every reported top-k list above species, not just each rank's top-1 and the
   * answer. The tail of a top-5 at kingdom rank can hold groups of 1e-30 whose order only a float64 pass over
   * whole kingdoms settles; off by default, and `topKCertified` says whether the order came out certain anyway.
   */
  readonly resolveTopK?: boolean;
}

export interface ClassifyOptions {
  /** One rank, several, or 'all'. Default 'species'. */
  readonly rank?: RankName | readonly RankName[] | 'all';
  readonly k?: number;
  readonly subset?: Subset;
  /** Arbor's answer: the deepest taxon whose probability is at least this. Default 0.5; null turns it off. */
  readonly threshold?: number | null;
  /** pybioclip's min_prob for ranks above species (its default is 1e-9). Default 0: exact sums. */
  readonly minProb?: number;
}

export interface TaxonAnswer {
  readonly rank: RankName;
  /** Kingdom … this rank (species: the epithet last). */
  readonly lineage: readonly string[];
  /** The name at this rank; the binomial at species. */
  readonly name: string;
  readonly commonName?: string;
  readonly score: number;
}

export interface Exactness {
  /** Bound on the absolute error of every score in this result, against a float64 computation. */
  readonly errorBound: number;
  /** Per rank (all seven): its top-1, and its comparison with the answer threshold, are the float64 ones. */
  readonly certified: Partial<Record<RankName, boolean>>;
  /** Per requested rank: the whole reported top-k order is the float64 one. */
  readonly topKCertified: Partial<Record<RankName, boolean>>;
  /** Species scored in float64 beyond the screening pass. */
  readonly rescored: number;
}

export interface ClassifyResult {
  readonly predictions: Partial<Record<RankName, PredictionRow[]>>;
  readonly answer: TaxonAnswer | null;
  readonly exactness: Exactness;
}

/**
 * pybioclip's TreeOfLifeClassifier over an embedding index: softmax of logitScale × cosine over all candidate
 * species (or a subset), higher ranks as sums of their species, top-k per rank, plus the deepest taxon above a
 * threshold. Works on embeddings only; encoders live elsewhere.
 */
export class TreeOfLifeClassifier {
  readonly index: SpeciesIndex;
  private readonly logitScale: number;
  private readonly scorer: SpeciesScorer;
  private readonly tolerance: number;
  private readonly relativeTolerance: number;
  private readonly maxRescored: number;
  private readonly resolveTopK: boolean;
  private readonly scratch: ClassifyScratchPool;

  constructor(index: SpeciesIndex, options: TreeOfLifeClassifierOptions) {
    const { logitScale } = options;
    if (!(logitScale > 0 && logitScale <= MAX_LOGIT_SCALE)) {
      throw new ClassifyError('INVALID_OPTION', `logitScale must be in (0, ${MAX_LOGIT_SCALE}], got ${logitScale}`);
    }
    const tolerance = options.tolerance ?? DEFAULT_TOLERANCE;
    if (!(tolerance > 0 && tolerance < 1)) throw new ClassifyError('INVALID_OPTION', `tolerance must be in (0, 1), got ${tolerance}`);
    const maxRescored = options.maxRescored ?? DEFAULT_MAX_RESCORED;
    if (!Number.isInteger(maxRescored) || maxRescored < 1) {
      throw new ClassifyError('INVALID_OPTION', `maxRescored must be a positive integer, got ${maxRescored}`);
    }
    this.index = index;
    this.logitScale = logitScale;
    this.scorer = options.scorer ?? new JsSpeciesScorer();
    this.tolerance = tolerance;
    this.relativeTolerance = options.relativeTolerance ?? 0;
    if (!(this.relativeTolerance >= 0 && this.relativeTolerance < 1)) {
      throw new ClassifyError('INVALID_OPTION', `relativeTolerance must be in [0, 1), got ${this.relativeTolerance}`);
    }
    this.maxRescored = maxRescored;
    this.resolveTopK = options.resolveTopK ?? false;
    this.scratch = new ClassifyScratchPool(index);
  }

  async classify(imageEmbeddings: readonly ArrayLike<number>[], options: ClassifyOptions = {}): Promise<ClassifyResult[]> {
    const ranks = requestedRanks(options.rank);
    const k = options.k ?? DEFAULT_K;
    if (!Number.isInteger(k) || k < 1) throw new ClassifyError('INVALID_OPTION', `k must be a positive integer, got ${k}`);
    const threshold = options.threshold === null ? undefined : (options.threshold ?? DEFAULT_THRESHOLD);
    if (threshold !== undefined && !(threshold > 0 && threshold <= 1)) {
      throw new ClassifyError('INVALID_OPTION', `threshold must be in (0, 1], got ${threshold}`);
    }
    const minProb = options.minProb ?? 0;
    if (!(minProb >= 0 && minProb < 1)) throw new ClassifyError('INVALID_OPTION', `minProb must be in [0, 1), got ${minProb}`);
    const { index } = this;
    const dim = index.dim;
    const queries = new Float64Array(imageEmbeddings.length * dim);
    imageEmbeddings.forEach((e, i) => queries.set(unitFloat64(e, dim, `image ${i}`), i * dim));
    const candidates = resolveCandidates(index, options.subset);
    if (imageEmbeddings.length === 0) return [];

    const certifyTop = RANKS.map((_, r) => (ranks.includes(r) ? k : 0));
    const settings = {
      logitScale: this.logitScale,
      tolerance: this.tolerance,
      relativeTolerance: this.relativeTolerance,
      maxRescored: this.maxRescored,
      resolveTopK: this.resolveTopK,
      minProb,
      certifyTop,
      threshold,
    };
    const bound = this.scorer.errorBound(this.logitScale, dim);
    const count = imageEmbeddings.length;
    const scratch = this.scratch.acquire(count);
    try {
      return await this.classifyBatch(queries, count, candidates, settings, bound, scratch, ranks, k, threshold);
    } finally {
      this.scratch.release(scratch);
    }
  }

  private async classifyBatch(
    queries: Float64Array,
    count: number,
    candidates: CandidateSet,
    settings: TreeSoftmaxSettings,
    bound: ScorerErrorBound,
    scratch: ClassifyScratch,
    ranks: number[],
    k: number,
    threshold: number | undefined,
  ): Promise<ClassifyResult[]> {
    const { index } = this;
    const dim = index.dim;
    const states = Array.from(
      { length: count },
      (_, q) => new TreeSoftmax(index, candidates, queries.subarray(q * dim, (q + 1) * dim), bound, settings, scratch.totals, scratch.images[q]),
    );

    const chunks = candidateChunks(candidates, this.scorer.chunkRows);
    const topK = trackedCount(Math.min(ranks.includes(SPECIES_RANK) ? k : 1, candidates.count));
    const score = (ranges: Int32Array) => this.scorer.score(index, queries, count, ranges, this.logitScale, topK);
    // Pass 1, chunk by chunk: each is folded right after it is scored, while its weights are still in cache (both
    // scorers compute on the calling thread, so keeping the next chunk in flight overlapped nothing). The scored
    // chunks (B × N weights, or logits) are kept for a possible collection pass.
    const scored: ScoredChunk[] = [];
    for (const ranges of chunks) {
      const chunk = await score(ranges);
      TreeSoftmax.foldChunk(states, ranges, chunk, scratch.pending);
      scored.push(chunk);
    }
    TreeSoftmax.endFold(states, scratch.pending);
    // Pass 2, only for images whose floor lies below what their tracked list holds; repeated while one asks for more.
    try {
      let wanted = states.map((s) => s.selectFloor());
      while (wanted.some(Boolean)) {
        chunks.forEach((ranges, c) => TreeSoftmax.collectChunk(states, ranges, scored[c]));
        wanted = states.map((s, q) => wanted[q] && s.selectFloor());
      }
    } finally {
      this.scorer.recycle?.(scored);
    }
    return states.map((state) => {
      state.finish();
      return this.result(state, ranks, k, threshold);
    });
  }

  private result(state: TreeSoftmax, ranks: number[], k: number, threshold: number | undefined): ClassifyResult {
    const { index } = this;
    const predictions: Partial<Record<RankName, PredictionRow[]>> = {};
    const certified: Partial<Record<RankName, boolean>> = {};
    const topKCertified: Partial<Record<RankName, boolean>> = {};
    for (const r of ranks) {
      predictions[RANKS[r]] = this.topAt(state, r, k).map(([g, score]) => groupRow(index, r, g, score));
      topKCertified[RANKS[r]] = state.topKCertified(r);
    }
    for (let r = 0; r <= SPECIES_RANK; r++) certified[RANKS[r]] = state.top1Certified(r);
    let answer: TaxonAnswer | null = null;
    if (threshold !== undefined) {
      for (let r = SPECIES_RANK; r >= 0 && !answer; r--) {
        const [best] = this.topAt(state, r, 1);
        if (best && best[1] >= threshold) answer = this.answerFor(r, best[0], best[1]);
      }
    }
    return { predictions, answer, exactness: { errorBound: state.errorBound, certified, topKCertified, rescored: state.rescoredCount } };
  }

  /** [group, probability] of the k best at a rank (species: positions). */
  private topAt(state: TreeSoftmax, rank: number, k: number): [number, number][] {
    const z = state.partition;
    if (rank === SPECIES_RANK) return state.topSpecies(k).map((s) => [s.position, s.weight / z]);
    const { mass } = state.rankTotals(rank);
    return state.leadingGroupsAt(rank, k).map((g) => [g, mass[g] / z]);
  }

  private answerFor(rank: number, group: number, score: number): TaxonAnswer {
    const lineage = this.index.groupLineage(rank, group);
    if (rank === SPECIES_RANK) {
      return { rank: 'species', lineage, name: `${lineage[SPECIES_RANK - 1]} ${lineage[SPECIES_RANK]}`, commonName: this.index.commonNames[group], score };
    }
    return { rank: RANKS[rank], lineage, name: lineage[rank], score };
  }
}

function requestedRanks(rank: ClassifyOptions['rank']): number[] {
  if (rank === undefined) return [SPECIES_RANK];
  if (rank === 'all') return RANKS.map((_, i) => i);
  const list = typeof rank === 'string' ? [rank] : rank;
  if (list.length === 0) throw new ClassifyError('UNKNOWN_RANK', 'no rank requested');
  return [...new Set(list.map((r) => rankIndex(r)))].sort((a, b) => a - b);
}
