import { ClassifyError } from './errors.ts';
import { assertLineage, binomial, GENUS_RANK, RANK_COUNT, RANKS, SPECIES_RANK, type Lineage } from './ranks.ts';
import { checkedNorm } from './vectors.ts';

export const DEFAULT_EMBEDDING_DIM = 768;
/** How far a stored "unit" vector's float64 norm may be from 1 before it is refused (float32 storage gives ≈1e-7). */
export const DEFAULT_UNIT_TOLERANCE = 1e-3;

export interface SpeciesRecord {
  readonly lineage: Lineage;
  readonly commonName: string;
  readonly embedding: ArrayLike<number>;
}

export interface SpeciesColumns {
  /** Species-major rows, size × dim. Ownership passes to the index: it is reordered in place. */
  readonly vectors: Float32Array;
  readonly lineages: readonly Lineage[];
  readonly commonNames: readonly string[];
}

export interface SpeciesIndexOptions {
  readonly dim?: number;
  /**
   * Divide each vector by its norm. Off by default: official text embeddings are unit vectors and pybioclip uses
   * them as stored; turn it on for prototypes or other non-normalised class embeddings.
   */
  readonly renormalize?: boolean;
  readonly unitTolerance?: number;
}

/** The groups of one rank above species: contiguous position ranges in lineage order. */
interface RankGroups {
  /** start[g] … start[g + 1] - 1 are the positions of group g; length groupCount + 1. */
  readonly start: Int32Array;
  readonly name: string[];
  /** Group index at the rank above (empty for kingdom). */
  readonly parent: Int32Array;
}

/**
 * Candidate species for tree-of-life classification: unit embeddings stored contiguously (Float32Array, one row
 * per species) in lineage order, so that every taxon above species is a contiguous range of rows and group sums
 * are sequential passes. Groups are keyed by the whole lineage prefix, never by name alone: homonyms in different
 * kingdoms (e.g. the genus Morus, a plant and a bird) stay separate.
 */
export class SpeciesIndex {
  readonly dim: number;
  readonly size: number;
  /** size × dim, row p is the species at position p (lineage order). */
  readonly vectors: Float32Array;
  /** Position → index of the record in the input order. */
  readonly sourceIds: Int32Array;
  readonly epithets: readonly string[];
  readonly commonNames: readonly string[];
  /** Position → genus group. */
  readonly genusOf: Int32Array;
  private readonly ranks: readonly RankGroups[];
  private positionBySource: Int32Array | undefined;
  private byName: Map<string, number[]>[] | undefined;
  private byParentAndName: Map<string, number>[] | undefined;
  private byBinomial: Map<string, number[]> | undefined;

  private constructor(
    dim: number,
    vectors: Float32Array,
    sourceIds: Int32Array,
    epithets: string[],
    commonNames: string[],
    genusOf: Int32Array,
    ranks: RankGroups[],
  ) {
    this.dim = dim;
    this.size = sourceIds.length;
    this.vectors = vectors;
    this.sourceIds = sourceIds;
    this.epithets = epithets;
    this.commonNames = commonNames;
    this.genusOf = genusOf;
    this.ranks = ranks;
  }

  static fromRecords(records: Iterable<SpeciesRecord>, options: SpeciesIndexOptions = {}): SpeciesIndex {
    const builder = new SpeciesIndexBuilder(options);
    for (const r of records) builder.add(r);
    return builder.build();
  }

  static fromColumns(columns: SpeciesColumns, options: SpeciesIndexOptions = {}): SpeciesIndex {
    const dim = options.dim ?? DEFAULT_EMBEDDING_DIM;
    const { vectors, lineages, commonNames } = columns;
    const n = lineages.length;
    if (n === 0) throw new ClassifyError('EMPTY_CANDIDATES', 'a species index needs at least one species');
    if (commonNames.length !== n) throw new ClassifyError('INVALID_OPTION', `${n} lineages but ${commonNames.length} common names`);
    if (vectors.length !== n * dim) {
      throw new ClassifyError('DIMENSION_MISMATCH', `vectors hold ${vectors.length} values, expected ${n} × ${dim}`);
    }
    lineages.forEach((l, i) => assertLineage(l, `species ${i}`));
    normaliseRows(vectors, n, dim, options);

    const ids = internPerRank(lineages);
    const order = lineageOrder(ids, n);
    permuteRowsInPlace(vectors, order, dim);

    const sortedIds = ids.map((col) => {
      const out = new Int32Array(n);
      for (let p = 0; p < n; p++) out[p] = col[order[p]];
      return out;
    });
    const ranks: RankGroups[] = [];
    const groupOfPosition: Int32Array[] = [];
    for (let r = 0; r < SPECIES_RANK; r++) {
      const starts: number[] = [];
      const names: string[] = [];
      const parents: number[] = [];
      const of = new Int32Array(n);
      for (let p = 0; p < n; p++) {
        let fresh = p === 0;
        for (let j = 0; j <= r && !fresh; j++) fresh = sortedIds[j][p] !== sortedIds[j][p - 1];
        if (fresh) {
          starts.push(p);
          names.push(lineages[order[p]][r]);
          if (r > 0) parents.push(groupOfPosition[r - 1][p]);
        }
        of[p] = starts.length - 1;
      }
      starts.push(n);
      groupOfPosition.push(of);
      ranks.push({ start: Int32Array.from(starts), name: names, parent: Int32Array.from(parents) });
    }
    const epithets = new Array<string>(n);
    const sortedCommon = new Array<string>(n);
    for (let p = 0; p < n; p++) {
      epithets[p] = lineages[order[p]][SPECIES_RANK];
      sortedCommon[p] = commonNames[order[p]];
    }
    return new SpeciesIndex(dim, vectors, order, epithets, sortedCommon, groupOfPosition[GENUS_RANK], ranks);
  }

  /** Number of taxa at a rank (species: number of entries). */
  groupCount(rank: number): number {
    return rank === SPECIES_RANK ? this.size : this.ranks[rank].name.length;
  }

  /** [start, end) positions of a group. */
  groupRange(rank: number, group: number): [number, number] {
    if (rank === SPECIES_RANK) return [group, group + 1];
    const s = this.ranks[rank].start;
    return [s[group], s[group + 1]];
  }

  groupStarts(rank: number): Int32Array {
    return this.ranks[rank].start;
  }

  /** Parent group (at rank - 1) of every group at `rank` ≥ 1 above species. */
  groupParents(rank: number): Int32Array {
    return this.ranks[rank].parent;
  }

  groupName(rank: number, group: number): string {
    return rank === SPECIES_RANK ? this.epithets[group] : this.ranks[rank].name[group];
  }

  /** The group at `rank` that contains the species at `position`. */
  groupOf(rank: number, position: number): number {
    if (rank === SPECIES_RANK) return position;
    let g = this.genusOf[position];
    for (let r = GENUS_RANK; r > rank; r--) g = this.ranks[r].parent[g];
    return g;
  }

  /** Names from kingdom down to `rank` for a group at that rank. */
  groupLineage(rank: number, group: number): string[] {
    const out = new Array<string>(rank + 1);
    let g = group;
    if (rank === SPECIES_RANK) {
      out[SPECIES_RANK] = this.epithets[group];
      g = this.genusOf[group];
    }
    for (let r = Math.min(rank, GENUS_RANK); r >= 0; r--) {
      out[r] = this.ranks[r].name[g];
      if (r > 0) g = this.ranks[r].parent[g];
    }
    return out;
  }

  lineageAt(position: number): string[] {
    return this.groupLineage(SPECIES_RANK, position);
  }

  /** Position of the record that was `sourceId`-th in the input. */
  positionOf(sourceId: number): number {
    if (!this.positionBySource) {
      const inv = new Int32Array(this.size);
      for (let p = 0; p < this.size; p++) inv[this.sourceIds[p]] = p;
      this.positionBySource = inv;
    }
    if (!Number.isInteger(sourceId) || sourceId < 0 || sourceId >= this.size) {
      throw new ClassifyError('UNKNOWN_TAXON', `species id ${sourceId} is outside 0 … ${this.size - 1}`);
    }
    return this.positionBySource[sourceId];
  }

  /** Every group at `rank` whose own name is `name` (pybioclip's filter: by name alone, homonyms included). */
  groupsNamed(rank: number, name: string): readonly number[] {
    if (rank === SPECIES_RANK) {
      if (!this.byBinomial) {
        const m = new Map<string, number[]>();
        for (let p = 0; p < this.size; p++) {
          const key = binomial(this.lineageAt(p));
          const list = m.get(key);
          if (list) list.push(p);
          else m.set(key, [p]);
        }
        this.byBinomial = m;
      }
      return this.byBinomial.get(name) ?? [];
    }
    if (!this.byName) {
      this.byName = this.ranks.map((rg) => {
        const m = new Map<string, number[]>();
        rg.name.forEach((n, g) => {
          const list = m.get(n);
          if (list) list.push(g);
          else m.set(n, [g]);
        });
        return m;
      });
    }
    return this.byName[rank].get(name) ?? [];
  }

  /** The group whose lineage is exactly `prefix` (1 to 6 names from kingdom down), if any. */
  groupByLineage(prefix: readonly string[]): number | undefined {
    if (prefix.length < 1 || prefix.length > SPECIES_RANK) return undefined;
    if (!this.byParentAndName) {
      this.byParentAndName = this.ranks.map((rg, r) => {
        const m = new Map<string, number>();
        rg.name.forEach((n, g) => m.set(r === 0 ? n : `${rg.parent[g]}\u0000${n}`, g));
        return m;
      });
    }
    let g: number | undefined = this.byParentAndName[0].get(prefix[0]);
    for (let r = 1; r < prefix.length && g !== undefined; r++) g = this.byParentAndName[r].get(`${g}\u0000${prefix[r]}`);
    return g;
  }
}

/** Collects records one at a time (e.g. from the official-file reader) into growing column storage. */
export class SpeciesIndexBuilder {
  private readonly dim: number;
  private vectors: Float32Array;
  private readonly lineages: Lineage[] = [];
  private readonly commonNames: string[] = [];

  constructor(private readonly options: SpeciesIndexOptions & { capacity?: number } = {}) {
    this.dim = options.dim ?? DEFAULT_EMBEDDING_DIM;
    this.vectors = new Float32Array(Math.max(1, options.capacity ?? 1024) * this.dim);
  }

  get size(): number {
    return this.lineages.length;
  }

  add(record: SpeciesRecord): void {
    const i = this.lineages.length;
    assertLineage(record.lineage, `species ${i}`);
    if (record.embedding.length !== this.dim) {
      throw new ClassifyError('DIMENSION_MISMATCH', `species ${i} (${record.lineage.join(' ')}): length ${record.embedding.length}, expected ${this.dim}`);
    }
    if ((i + 1) * this.dim > this.vectors.length) {
      const grown = new Float32Array(this.vectors.length * 2);
      grown.set(this.vectors);
      this.vectors = grown;
    }
    // Copy first (a native conversion from any array type), then check the float32 row: one monomorphic loop.
    this.vectors.set(record.embedding, i * this.dim);
    checkedNorm(this.vectors.subarray(i * this.dim, (i + 1) * this.dim), this.dim, `species ${i} (${record.lineage.join(' ')})`);
    this.lineages.push([...record.lineage]);
    this.commonNames.push(record.commonName);
  }

  build(): SpeciesIndex {
    const n = this.lineages.length;
    const vectors = this.vectors.length === n * this.dim ? this.vectors : this.vectors.slice(0, n * this.dim);
    return SpeciesIndex.fromColumns({ vectors, lineages: this.lineages, commonNames: this.commonNames }, this.options);
  }
}

function normaliseRows(vectors: Float32Array, n: number, dim: number, options: SpeciesIndexOptions): void {
  const tolerance = options.unitTolerance ?? DEFAULT_UNIT_TOLERANCE;
  for (let i = 0; i < n; i++) {
    const o = i * dim;
    let s = 0;
    for (let k = 0; k < dim; k++) s += vectors[o + k] * vectors[o + k];
    if (!Number.isFinite(s)) {
      checkedNorm(vectors.subarray(o, o + dim), dim, `species ${i}`);
      throw new ClassifyError('NON_FINITE', `species ${i}: the squared norm overflows`);
    }
    const norm = Math.sqrt(s);
    if (norm === 0) throw new ClassifyError('ZERO_VECTOR', `species ${i}: the embedding is all zeros`);
    if (options.renormalize) {
      for (let k = 0; k < dim; k++) vectors[o + k] = vectors[o + k] / norm;
    } else if (Math.abs(norm - 1) > tolerance) {
      throw new ClassifyError('NOT_UNIT', `species ${i}: norm ${norm} is not 1 (pass renormalize: true for non-unit class embeddings)`);
    }
  }
}

/** Per rank, the position of each record's name in the sorted list of that rank's distinct names. */
function internPerRank(lineages: readonly Lineage[]): Int32Array[] {
  const out: Int32Array[] = [];
  for (let r = 0; r < RANK_COUNT; r++) {
    const distinct = [...new Set(lineages.map((l) => l[r]))].sort(compareCodeUnits);
    const id = new Map(distinct.map((name, i) => [name, i]));
    out.push(Int32Array.from(lineages, (l) => id.get(l[r])!));
  }
  return out;
}

/** Plain code-unit order: deterministic and locale-free, the same as Python's default str ordering for BMP text. */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function lineageOrder(ids: Int32Array[], n: number): Int32Array {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => {
    for (let r = 0; r < RANKS.length; r++) {
      const d = ids[r][a] - ids[r][b];
      if (d !== 0) return d;
    }
    return a - b;
  });
  return order;
}

/** Reorders rows so that row p becomes the old row order[p], with one row of scratch memory (cycle following). */
function permuteRowsInPlace(vectors: Float32Array, order: Int32Array, dim: number): void {
  const n = order.length;
  const done = new Uint8Array(n);
  const scratch = new Float32Array(dim);
  for (let start = 0; start < n; start++) {
    if (done[start] || order[start] === start) {
      done[start] = 1;
      continue;
    }
    scratch.set(vectors.subarray(start * dim, (start + 1) * dim));
    let p = start;
    for (;;) {
      const from = order[p];
      done[p] = 1;
      if (from === start) {
        vectors.set(scratch, p * dim);
        break;
      }
      vectors.copyWithin(p * dim, from * dim, (from + 1) * dim);
      p = from;
    }
  }
}
