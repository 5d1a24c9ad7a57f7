import { hash32, Random } from "../lib/prng.ts";
import { RANKS, type TreeShape } from "./geometry.ts";

export interface SyntheticTaxon {
  /** 1-based, depth-first order (parents before children). */
  id: number;
  parentId: number | null;
  /** Index into RANKS. */
  rank: number;
  scientificName: string;
  /** Root first, excluding the taxon itself (the store's taxon.ancestor_ids). */
  ancestorIds: number[];
}

const STREAM_TREE = 1;
const STREAM_SPECIES_ORDER = 2;
const STREAM_ROW_SPECIES = 3;

/** A seeded random tree of life, kingdom → species, and which species each image row shows. */
export class SyntheticTaxonomy {
  readonly taxa: SyntheticTaxon[] = [];
  /** Taxon id of species index s (species indices follow depth-first order). */
  readonly speciesTaxonIds: Int32Array;
  /** Cumulative image share of species 0..s (last = 1). */
  private readonly cumulativeShare: Float64Array;

  constructor(
    readonly seed: number,
    readonly shape: TreeShape,
  ) {
    const random = new Random(seed, STREAM_TREE);
    const species: number[] = [];
    const grow = (parentId: number | null, rank: number, ancestors: number[], path: string) => {
      const count = rank === 0 ? shape.kingdoms : random.int(...shape.children[rank - 1]!);
      for (let i = 1; i <= count; i++) {
        const id = this.taxa.length + 1;
        const name = rank === RANKS.length - 1 ? `${path} sp${i}` : `${path}${path ? "-" : ""}${RANKS[rank]!.slice(0, 2)}${i}`;
        this.taxa.push({ id, parentId, rank, scientificName: name, ancestorIds: ancestors });
        if (rank === RANKS.length - 1) species.push(id);
        else grow(id, rank + 1, [...ancestors, id], name);
      }
    };
    grow(null, 0, [], "");
    this.speciesTaxonIds = Int32Array.from(species);

    // Zipf weights assigned to the species in a random order, so abundance is not tied to the tree.
    const order = new Random(seed, STREAM_SPECIES_ORDER).shuffle(species.map((_, s) => s));
    const weights = new Float64Array(species.length);
    order.forEach((s, rankOfAbundance) => (weights[s] = 1 / (rankOfAbundance + 1) ** shape.zipfExponent));
    const total = weights.reduce((sum, w) => sum + w, 0);
    this.cumulativeShare = new Float64Array(species.length);
    let running = 0;
    for (let s = 0; s < species.length; s++) {
      running += weights[s]! / total;
      this.cumulativeShare[s] = running;
    }
    this.cumulativeShare[species.length - 1] = 1;
  }

  get speciesCount(): number {
    return this.speciesTaxonIds.length;
  }

  /** Species index of image row `row` (a pure function of seed and row). */
  speciesOfRow(row: number): number {
    const u = hash32(this.seed, STREAM_ROW_SPECIES, row) / 4294967296;
    let lo = 0;
    let hi = this.cumulativeShare.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cumulativeShare[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  taxon(id: number): SyntheticTaxon {
    const taxon = this.taxa[id - 1];
    if (!taxon || taxon.id !== id) throw new RangeError(`no synthetic taxon ${id}`);
    return taxon;
  }

  /** True when taxon `taxonId` is `ancestorId` or lies below it. */
  isWithin(taxonId: number, ancestorId: number): boolean {
    return taxonId === ancestorId || this.taxon(taxonId).ancestorIds.includes(ancestorId);
  }
}
