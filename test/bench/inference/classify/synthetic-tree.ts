import { Random } from "../../lib/prng.ts";

/** kingdom … genus: the ranks that group species. */
export const GROUP_RANKS = ["kingdom", "phylum", "class", "order", "family", "genus"] as const;
export const RANK_NAMES = [...GROUP_RANKS, "species"] as const;

/** Children per parent, one line per rank below the kingdom: heavy-tailed, P(n) ∝ n^−exponent on [min, max]. */
export interface BranchingRule {
  min: number;
  max: number;
  exponent: number;
}

/** species per genus, genera per family, families per order, orders per class, classes per phylum. */
export const BRANCHING: Record<"species" | "genus" | "family" | "order" | "class", BranchingRule> = {
  species: { min: 1, max: 50, exponent: 1.6 },
  genus: { min: 1, max: 60, exponent: 1.5 },
  family: { min: 1, max: 40, exponent: 1.3 },
  order: { min: 1, max: 30, exponent: 1.2 },
  class: { min: 1, max: 20, exponent: 1.1 },
};
export const KINGDOMS = 5;
/** Shares of the phyla that fall in each kingdom (an animal-heavy tree, like TreeOfLife-200M). */
const KINGDOM_SHARES = [0.42, 0.3, 0.16, 0.08, 0.04];

/**
 * A synthetic tree of life in lineage order: species 0 … N−1, each rank's groups are contiguous runs
 * of positions, so `groupOf[r][p]` is non-decreasing in p. Built bottom-up (species into genera, genera
 * into families, … phyla into 5 kingdoms) with heavy-tailed sizes from the seed alone.
 */
export interface SyntheticTree {
  species: number;
  /** groupOf[r][p]: the group at rank r (0 kingdom … 5 genus) of the species at position p. */
  groupOf: Int32Array[];
  groupCounts: number[];
}

/** Inverse-CDF sampler of P(n) ∝ n^−exponent on [min, max]. */
function sizeSampler(rule: BranchingRule): (random: Random) => number {
  const weights: number[] = [];
  for (let n = rule.min; n <= rule.max; n++) weights.push(n ** -rule.exponent);
  const total = weights.reduce((a, b) => a + b, 0);
  const cdf: number[] = [];
  let acc = 0;
  for (const w of weights) cdf.push((acc += w / total));
  return (random) => {
    const u = random.float();
    let lo = 0;
    let hi = cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return rule.min + lo;
  };
}

/** Splits `count` children into consecutive parents of sampled sizes; returns the parent of each child. */
function groupConsecutive(count: number, rule: BranchingRule, random: Random): Int32Array {
  const sample = sizeSampler(rule);
  const parent = new Int32Array(count);
  let group = 0;
  for (let i = 0; i < count; ) {
    const size = sample(random);
    parent.fill(group, i, Math.min(count, i + size));
    i += size;
    group++;
  }
  return parent;
}

export function buildTree(species: number, seed: number): SyntheticTree {
  if (!Number.isSafeInteger(species) || species < 1) throw new RangeError("species must be a positive integer");
  const random = new Random(seed, 0x7ee);
  // Bottom-up: the parent array of each level, from species→genus to class→phylum.
  const speciesToGenus = groupConsecutive(species, BRANCHING.species, random);
  const genera = speciesToGenus[species - 1]! + 1;
  const genusToFamily = groupConsecutive(genera, BRANCHING.genus, random);
  const families = genusToFamily[genera - 1]! + 1;
  const familyToOrder = groupConsecutive(families, BRANCHING.family, random);
  const orders = familyToOrder[families - 1]! + 1;
  const orderToClass = groupConsecutive(orders, BRANCHING.order, random);
  const classes = orderToClass[orders - 1]! + 1;
  const classToPhylum = groupConsecutive(classes, BRANCHING.class, random);
  const phyla = classToPhylum[classes - 1]! + 1;
  // Phyla into kingdoms by share, each kingdom getting at least one phylum when there are enough.
  const phylumToKingdom = new Int32Array(phyla);
  const kingdoms = Math.min(KINGDOMS, phyla);
  let start = 0;
  for (let k = 0; k < kingdoms; k++) {
    const remainingKingdoms = kingdoms - k - 1;
    const share = KINGDOM_SHARES[k]! / KINGDOM_SHARES.slice(k, kingdoms).reduce((a, b) => a + b, 0);
    const take = k === kingdoms - 1 ? phyla - start : Math.max(1, Math.min(phyla - start - remainingKingdoms, Math.round(share * (phyla - start))));
    phylumToKingdom.fill(k, start, start + take);
    start += take;
  }

  const groupOf = [new Int32Array(species), new Int32Array(species), new Int32Array(species), new Int32Array(species), new Int32Array(species), speciesToGenus];
  for (let p = 0; p < species; p++) {
    const genus = speciesToGenus[p]!;
    const family = genusToFamily[genus]!;
    const order = familyToOrder[family]!;
    const klass = orderToClass[order]!;
    const phylum = classToPhylum[klass]!;
    groupOf[4]![p] = family;
    groupOf[3]![p] = order;
    groupOf[2]![p] = klass;
    groupOf[1]![p] = phylum;
    groupOf[0]![p] = phylumToKingdom[phylum]!;
  }
  return { species, groupOf, groupCounts: [kingdoms, phyla, classes, orders, families, genera] };
}

/**
 * Names that sort (by code units) in position order: a rank letter and the zero-padded group number,
 * unique across the tree, so name order = lineage order and a name identifies its group.
 */
export function groupName(rank: number, group: number, count: number): string {
  return `${"KPCOFGS"[rank]}${String(group).padStart(String(count - 1).length, "0")}`;
}
