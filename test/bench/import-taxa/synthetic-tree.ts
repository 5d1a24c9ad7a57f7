import { hash32, Random } from "../lib/prng.ts";

/**
 * A seeded synthetic tree of life with exactly `rows` nodes over the seven main ranks, produced
 * depth-first one node at a time (nothing but the open path is held in memory). Shape: five
 * kingdoms of unequal size (each gets its share of the rows), phyla of 2–8 classes, classes of
 * 2–8 orders, orders of 2–10 families, families of 1–10 genera, genera of 5–60 species (skewed
 * towards small genera, mean ≈ 23); at 1 M rows 51 phyla, 247 classes, 1,241 orders,
 * 7,426 families, 41,046 genera and 949,984 species (seed 42). The last branch of each kingdom is cut where its share runs out.
 *
 * Names are unique per rank across the whole tree (the stems are a bijection of a per-rank counter),
 * as in iNaturalist, where homonyms across kingdoms are rare. Ids are a permutation of 1..rows
 * unrelated to the depth-first order, like iNaturalist's ids, so a file sorted by position is not
 * sorted by id.
 */

export const RANKS = [
  { rank: "kingdom", level: 70 },
  { rank: "phylum", level: 60 },
  { rank: "class", level: 50 },
  { rank: "order", level: 40 },
  { rank: "family", level: 30 },
  { rank: "genus", level: 20 },
  { rank: "species", level: 10 },
] as const;
export const SPECIES_DEPTH = RANKS.length - 1;

const KINGDOMS: ReadonlyArray<{ name: string; share: number; plant: boolean }> = [
  { name: "Animalia", share: 0.55, plant: false },
  { name: "Plantae", share: 0.25, plant: true },
  { name: "Fungi", share: 0.12, plant: true },
  { name: "Chromista", share: 0.05, plant: true },
  { name: "Protozoa", share: 0.03, plant: false },
];

/** Children per node, by depth of the parent (phylum … genus); kingdoms take children until their share is used. */
const CHILDREN: ReadonlyArray<readonly [number, number]> = [
  [0, 0], // kingdom: bounded by its share of the rows
  [2, 8],
  [2, 8],
  [2, 10],
  [1, 10],
  [5, 60],
];

export interface TreeRow {
  /** 0-based position in depth-first order (the file's data line − 2). */
  position: number;
  id: number;
  /** null for a kingdom. */
  parentId: number | null;
  /** 0 kingdom … 6 species. */
  depth: number;
  name: string;
  /** Names from the kingdom down to this node (inclusive); shared between rows, read it before the next row. */
  lineage: readonly string[];
}

export interface TreeShape {
  rows: number;
  byRank: Record<string, number>;
  /** Species per genus among complete genera: min, mean, max. */
  speciesPerGenus: { min: number; mean: number; max: number };
}

const STREAM_SIZES = 1;
const STREAM_NAMES = 2;

export function* syntheticTree(rows: number, seed: number): Generator<TreeRow> {
  if (!Number.isSafeInteger(rows) || rows < KINGDOMS.length) throw new RangeError(`a tree needs at least ${KINGDOMS.length} rows, got ${rows}`);
  const sizes = new Random(seed, STREAM_SIZES);
  const names = new SyntheticNames(seed);
  const ids = new IdPermutation(rows, seed);
  const lineage: string[] = [];
  const path: number[] = []; // ids of the open nodes, kingdom first
  let position = 0;
  let used = 0;
  for (const [k, kingdom] of KINGDOMS.entries()) {
    const budget = k === KINGDOMS.length - 1 ? rows - used : Math.round(kingdom.share * rows);
    used += budget;
    let left = budget;
    // Depth-first walk with an explicit stack of "children still to open" per depth.
    const pending: number[] = [];
    const emit = (depth: number, name: string): TreeRow => {
      const id = ids.at(position);
      const row: TreeRow = { position, id, parentId: depth === 0 ? null : path[depth - 1]!, depth, name, lineage };
      path[depth] = id;
      lineage.length = depth;
      lineage.push(name);
      position++;
      left--;
      return row;
    };
    yield emit(0, kingdom.name);
    pending[0] = Number.POSITIVE_INFINITY;
    let depth = 0; // depth of the node whose children are being opened
    while (left > 0 && depth >= 0) {
      if (pending[depth]! <= 0) {
        depth--;
        continue;
      }
      pending[depth]!--;
      const childDepth = depth + 1;
      const name = childDepth === SPECIES_DEPTH ? names.species(lineage[depth]!) : names.higher(childDepth, kingdom.plant);
      yield emit(childDepth, name);
      if (childDepth < SPECIES_DEPTH) {
        pending[childDepth] = childDepth === SPECIES_DEPTH - 1 ? speciesInGenus(sizes) : sizes.int(...CHILDREN[childDepth]!);
        depth = childDepth;
      }
    }
  }
}

/** Counts per rank and the genus sizes of a tree (walks it; for the report). */
export function describeTree(rows: number, seed: number): TreeShape {
  const byRank: Record<string, number> = Object.fromEntries(RANKS.map((r) => [r.rank, 0]));
  const genusSizes: number[] = [];
  let current = -1;
  for (const row of syntheticTree(rows, seed)) {
    byRank[RANKS[row.depth]!.rank]!++;
    if (row.depth === SPECIES_DEPTH - 1) {
      if (current >= 0) genusSizes.push(current);
      current = 0;
    } else if (row.depth === SPECIES_DEPTH) {
      current++;
    } else if (current >= 0) {
      // A kingdom row ends the previous kingdom, whose last genus may be cut: leave it out.
      if (row.depth > 0) genusSizes.push(current);
      current = -1;
    }
  }
  // The genus open at the end of the file may be cut too: it is never pushed.
  const complete = genusSizes.filter((size) => size > 0);
  const total = complete.reduce((sum, size) => sum + size, 0);
  return {
    rows,
    byRank,
    speciesPerGenus: { min: Math.min(...complete), mean: Math.round((total / complete.length) * 10) / 10, max: Math.max(...complete) },
  };
}

function speciesInGenus(random: Random): number {
  // Skewed towards small genera: P(≥ 20 species) ≈ 0.48, mean ≈ 23.
  const u = random.float();
  return 5 + Math.floor(56 * u * u);
}

/**
 * A permutation of 1..n: id(position) = 1 + (position·stride + offset) mod n, with stride coprime
 * to n (a bijection), so ids are scattered over the file like iNaturalist's.
 */
class IdPermutation {
  private readonly stride: number;
  private readonly offset: number;

  constructor(private readonly n: number, seed: number) {
    let stride = Math.max(2, Math.floor(n * 0.6180339887)) + (hash32(seed, 7) % 97);
    while (gcd(stride, n) !== 1) stride++;
    this.stride = stride;
    this.offset = hash32(seed, 8) % n;
  }

  at(position: number): number {
    // position·stride < 2^53 for n up to ~9e7: exact in doubles.
    return 1 + ((position * this.stride + this.offset) % this.n);
  }
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

const ONSETS = ["b", "c", "d", "f", "g", "h", "l", "m", "n", "p", "r", "s", "t", "v", "x", "z", "ch", "ph", "th", "tr", "cr", "pl", "st", "br"];
const VOWELS = ["a", "e", "i", "o", "u", "y"];
const SYLLABLES = ONSETS.flatMap((onset) => VOWELS.map((vowel) => onset + vowel)); // 144
const CODAS = ["", "n", "r", "s", "l", "x", "m", "t"];

const HIGHER_SUFFIXES: Record<number, { animal: readonly string[]; plant: readonly string[] }> = {
  1: { animal: ["a", "ata", "ozoa"], plant: ["ophyta", "omycota"] },
  2: { animal: ["ia", "ida", "ea"], plant: ["opsida", "ophyceae", "omycetes"] },
  3: { animal: ["iformes", "ida", "ptera"], plant: ["ales"] },
  4: { animal: ["idae"], plant: ["aceae"] },
  5: { animal: ["us", "a", "ia", "ella", "ops", "ium", "ina"], plant: ["ia", "um", "opsis", "anthus", "ella", "ora"] },
};
const EPITHET_ENDINGS = ["us", "a", "um", "is", "ensis", "ii", "ata", "oides", "ica", "alis", "iana", "escens"];

/**
 * Unique pseudo-Latin names: the n-th name of a rank has the stem of syllable digits of
 * (n·A + B) mod 144^k, a bijection, so two names of one rank never share a stem.
 */
class SyntheticNames {
  private readonly counters = new Map<number, number>();
  private readonly used = new Map<number, Set<string>>();
  private genus = "";
  private genusCounter = 0;
  private readonly inGenus = new Set<string>();

  constructor(private readonly seed: number) {}

  higher(depth: number, plant: boolean): string {
    let used = this.used.get(depth);
    if (!used) this.used.set(depth, (used = new Set()));
    // Genera need three syllables at 1 M rows (~40 k genera); two give 165,888 stems per rank.
    const digits = depth === 5 ? 4 : 3;
    const suffixes = HIGHER_SUFFIXES[depth]![plant ? "plant" : "animal"];
    for (;;) {
      const n = this.counters.get(depth) ?? 0;
      this.counters.set(depth, n + 1);
      const suffix = suffixes[hash32(this.seed, depth, n, 1) % suffixes.length]!;
      // Distinct stems with different suffixes can still spell the same word ("bat"+"ia", "bati"+"a").
      const name = capitalise(stemOf(n, digits, hash32(this.seed, depth))) + suffix;
      if (!used.has(name)) {
        used.add(name);
        return name;
      }
    }
  }

  species(genus: string): string {
    if (genus !== this.genus) {
      this.genus = genus;
      this.genusCounter = 0;
      this.inGenus.clear();
    }
    const salt = hash32(this.seed, 6, genus.length, genus.charCodeAt(0), genus.charCodeAt(genus.length - 1));
    for (;;) {
      const n = this.genusCounter++;
      const name = `${genus} ${stemOf(n, 2, salt)}${EPITHET_ENDINGS[hash32(salt, n) % EPITHET_ENDINGS.length]}`;
      if (!this.inGenus.has(name)) {
        this.inGenus.add(name);
        return name;
      }
    }
  }
}

/**
 * `digits` − 1 syllables plus a coda letter group: a bijection of n mod 144^(digits−1)·8.
 * Multiplying by an odd number not divisible by 3 permutes residues mod 2^a·3^b.
 */
function stemOf(n: number, digits: number, salt: number): string {
  const modulus = SYLLABLES.length ** (digits - 1) * CODAS.length;
  if (n >= modulus) throw new RangeError(`name counter ${n} exceeds ${modulus} stems`);
  let value = (n * 7_919 + (salt % modulus)) % modulus;
  let out = "";
  for (let i = 0; i < digits - 1; i++) {
    out += SYLLABLES[value % SYLLABLES.length]!;
    value = Math.floor(value / SYLLABLES.length);
  }
  return out + CODAS[value]!;
}

function capitalise(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}
