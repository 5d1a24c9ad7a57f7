import { Random } from "../lib/prng.ts";
import { NameGenerator, type NamedRank } from "./names.ts";

/**
 * A seeded synthetic tree of life with exactly `taxa` nodes over the seven main ranks. Shape:
 * a few kingdoms of unequal size, orders of 3–20 families, families of 1–15 genera, genera of
 * 5–60 species (skewed towards small genera, about half with ≥ 20). Ids are 1-based in
 * depth-first order, so a parent's id is always smaller than its children's.
 */

export const RANKS = ["kingdom", "phylum", "class", "order", "family", "genus", "species"] as const;
export type Rank = (typeof RANKS)[number];
export const GENUS = RANKS.indexOf("genus");
export const SPECIES = RANKS.indexOf("species");

const KINGDOMS: ReadonlyArray<{ name: string; share: number }> = [
  { name: "Animalia", share: 0.55 },
  { name: "Plantae", share: 0.25 },
  { name: "Fungi", share: 0.12 },
  { name: "Chromista", share: 0.05 },
  { name: "Protozoa", share: 0.03 },
];

const MIN_SPECIES_PER_GENUS = 5;
const MAX_SPECIES_PER_GENUS = 60;

// Streams of the seeded generator: each concern draws from its own, so changing one leaves the others.
const STREAM_FAMILIES = 1;
const STREAM_SKELETON = 2;
const STREAM_ADJUST = 3;
const STREAM_NAMES = 4;

export interface SyntheticTree {
  readonly size: number;
  /** Indexed by id (index 0 unused); 0 for a root. */
  readonly parent: Int32Array;
  /** Index into RANKS, by id. */
  readonly rank: Uint8Array;
  readonly childCount: Int32Array;
  readonly scientificName: string[];
  readonly commonName: Array<string | null>;
  readonly genusIds: Int32Array;
  readonly speciesIds: Int32Array;
}

/** Lineage of `id`, root first, excluding `id` itself (the store's taxon.ancestor_ids). */
export function ancestorsOf(tree: SyntheticTree, id: number): number[] {
  const out: number[] = [];
  for (let p = tree.parent[id]!; p !== 0; p = tree.parent[p]!) out.push(p);
  return out.reverse();
}

/** Splits `n` items into consecutive groups of random size within [min, max] (the last may be smaller). */
function groups(random: Random, n: number, min: number, max: number): number[] {
  const out: number[] = [];
  let left = n;
  while (left > 0) {
    const size = Math.min(left, random.int(min, max));
    out.push(size);
    left -= size;
  }
  return out;
}

function speciesInGenus(random: Random): number {
  // Skewed towards small genera: P(≥ 20 species) ≈ 0.48, mean ≈ 23.
  const u = random.float();
  return MIN_SPECIES_PER_GENUS + Math.floor((MAX_SPECIES_PER_GENUS - MIN_SPECIES_PER_GENUS + 1) * u * u);
}

interface Plan {
  /** Per kingdom → phyla → classes → orders → number of families. */
  kingdoms: number[][][][];
  /** Per family (depth-first order) the species count of each of its genera. */
  families: number[][];
}

function plan(taxa: number, seed: number): Plan {
  const random = new Random(seed, STREAM_FAMILIES);
  const families: number[][] = [];
  // Families (with their genera and species) until the budget is spent; higher ranks add ~1 %.
  let total = 0;
  while (total < taxa * 0.99) {
    const genera = 1 + Math.floor(15 * random.float() ** 1.5);
    const sizes = Array.from({ length: genera }, () => speciesInGenus(random));
    families.push(sizes);
    total += 1 + genera + sizes.reduce((a, b) => a + b, 0);
  }

  const skeleton = new Random(seed, STREAM_SKELETON);
  const kingdoms: number[][][][] = [];
  let assigned = 0;
  KINGDOMS.forEach((kingdom, k) => {
    const count = k === KINGDOMS.length - 1 ? families.length - assigned : Math.max(1, Math.round(families.length * kingdom.share));
    assigned += count;
    const orders = groups(skeleton, count, 3, 20);
    const classes = groups(skeleton, orders.length, 2, 12);
    const phyla = groups(skeleton, classes.length, 1, 6);
    let o = 0;
    let c = 0;
    kingdoms.push(
      phyla.map((classCount) =>
        Array.from({ length: classCount }, () => {
          const orderCount = classes[c++]!;
          return Array.from({ length: orderCount }, () => orders[o++]!);
        }),
      ),
    );
  });

  // Hit `taxa` exactly by moving single species in or out of random genera, within 5–60.
  const higher = kingdoms.reduce((sum, phyla) => sum + 1 + phyla.reduce((s, cls) => s + 1 + cls.reduce((t, ords) => t + 1 + ords.length, 0), 0), 0);
  let size = higher + families.reduce((sum, sizes) => sum + 1 + sizes.length + sizes.reduce((a, b) => a + b, 0), 0);
  const adjust = new Random(seed, STREAM_ADJUST);
  for (let guard = 0; size !== taxa; guard++) {
    if (guard > 100 * taxa) throw new Error(`cannot shape a tree of exactly ${taxa} taxa`);
    const sizes = families[adjust.int(0, families.length - 1)]!;
    const g = adjust.int(0, sizes.length - 1);
    if (size < taxa && sizes[g]! < MAX_SPECIES_PER_GENUS) {
      sizes[g]!++;
      size++;
    } else if (size > taxa && sizes[g]! > MIN_SPECIES_PER_GENUS) {
      sizes[g]!--;
      size--;
    }
  }
  return { kingdoms, families };
}

export function generateTree(taxa: number, seed: number): SyntheticTree {
  if (!Number.isInteger(taxa) || taxa < 10_000) throw new RangeError(`a synthetic tree needs at least 10,000 taxa; got ${taxa}`);
  const { kingdoms, families } = plan(taxa, seed);
  const parent = new Int32Array(taxa + 1);
  const rank = new Uint8Array(taxa + 1);
  const childCount = new Int32Array(taxa + 1);
  const scientificName: string[] = new Array<string>(taxa + 1).fill("");
  const commonName: Array<string | null> = new Array<string | null>(taxa + 1).fill(null);
  const genusIds: number[] = [];
  const speciesIds: number[] = [];
  const names = new NameGenerator(new Random(seed, STREAM_NAMES));
  const commonShare = [1, 0.9, 0.8, 0.7, 0.6, 0.4, 0.3];
  let next = 1;

  const add = (parentId: number, rankIndex: number, name: string): number => {
    const id = next++;
    parent[id] = parentId;
    rank[id] = rankIndex;
    scientificName[id] = name;
    if (names.chance(commonShare[rankIndex]!)) commonName[id] = names.common();
    if (parentId !== 0) childCount[parentId]!++;
    return id;
  };
  const named = (parentId: number, rankName: NamedRank) => add(parentId, RANKS.indexOf(rankName), names.higher(rankName));

  let family = 0;
  kingdoms.forEach((phyla, k) => {
    const kingdom = add(0, 0, KINGDOMS[k]!.name);
    for (const classes of phyla) {
      const phylum = named(kingdom, "phylum");
      for (const orders of classes) {
        const cls = named(phylum, "class");
        for (const familyCount of orders) {
          const order = named(cls, "order");
          for (let f = 0; f < familyCount; f++) {
            const familyId = named(order, "family");
            for (const speciesCount of families[family++]!) {
              const genusId = named(familyId, "genus");
              genusIds.push(genusId);
              const epithets = new Set<string>();
              for (let s = 0; s < speciesCount; s++) {
                speciesIds.push(add(genusId, SPECIES, `${scientificName[genusId]} ${names.epithet(epithets)}`));
              }
            }
          }
        }
      }
    }
  });
  if (next !== taxa + 1) throw new Error(`generated ${next - 1} taxa, expected ${taxa}`);
  return {
    size: taxa,
    parent,
    rank,
    childCount,
    scientificName,
    commonName,
    genusIds: Int32Array.from(genusIds),
    speciesIds: Int32Array.from(speciesIds),
  };
}
