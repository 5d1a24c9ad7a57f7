import { hash32, Random } from "../lib/prng.ts";
import { SPECIES_DEPTH, syntheticTree } from "../import-taxa/synthetic-tree.ts";

/**
 * The species of a synthetic TreeOfLife-style label file: exactly `species` rows in depth-first
 * order, each the official `[[kingdom, phylum, class, order, family, genus, epithet], common name]`.
 * The lineages are the species of import-taxa's seeded tree (5 kingdoms with shares of the rows,
 * unique pseudo-Latin names per rank, genera of 5–60 species). That tree is sized by its total
 * rows, so a tree holding at least `species` species is walked and its surplus (≈ 1 %) is
 * dropped evenly, about one species in a hundred, so that every kingdom keeps its share and
 * genera keep (nearly) their sizes.
 */

export const RANK_NAMES = ["kingdom", "phylum", "class", "order", "family", "genus", "species"] as const;

export interface SpeciesLabel {
  /** Column of the .npy, row of the JSON. */
  column: number;
  /** kingdom … genus, then the epithet alone (as in txt_emb_species.json). */
  lineage: string[];
  /** "" for most species, as in the official file. */
  commonName: string;
}

/** Share of species given a common name. */
const COMMON_NAME_PER_MILLE = 300;
const STREAM_VECTORS = 31;

const ANIMAL_NOUNS = ["beetle", "moth", "warbler", "frog", "snail", "wasp", "shrew", "gecko", "sponge", "crab", "darter", "fly"];
const PLANT_NOUNS = ["fern", "orchid", "sedge", "moss", "bellflower", "thistle", "lichen", "bolete", "alga", "grass", "milkcap", "rush"];
const ADJECTIVES = ["Common", "Lesser", "Greater", "Spotted", "Banded", "Pale", "Dusky", "Northern", "Mountain", "Marsh", "Golden", "Striped", "Hairy", "Small"];
const PLANT_KINGDOMS = new Set(["Plantae", "Fungi", "Chromista"]);

/** Total rows of the import-taxa tree to walk: the first tried that holds `species` species. */
export function treeRowsFor(species: number, seed: number): { rows: number; treeSpecies: number } {
  if (!Number.isSafeInteger(species) || species < 1) throw new RangeError(`species must be a positive integer, got ${species}`);
  // Species are ≈ 95 % of the tree's rows; grow the guess by the observed shortfall until it fits.
  let rows = Math.max(200, Math.ceil(species / 0.95));
  for (;;) {
    let treeSpecies = 0;
    for (const row of syntheticTree(rows, seed)) if (row.depth === SPECIES_DEPTH) treeSpecies++;
    if (treeSpecies >= species) return { rows, treeSpecies };
    rows = Math.ceil((rows * species) / treeSpecies) + 50;
  }
}

/** The labels, in column order; `lineage` is a fresh array per row. */
export function* syntheticSpecies(species: number, seed: number): Generator<SpeciesLabel> {
  const { rows, treeSpecies } = treeRowsFor(species, seed);
  let seen = 0;
  let column = 0;
  for (const row of syntheticTree(rows, seed)) {
    if (row.depth !== SPECIES_DEPTH) continue;
    const index = seen++;
    // Keep `species` of `treeSpecies`, evenly: row i is kept when ⌊(i+1)·n/m⌋ > ⌊i·n/m⌋.
    if (Math.floor(((index + 1) * species) / treeSpecies) === Math.floor((index * species) / treeSpecies)) continue;
    const genus = row.lineage[SPECIES_DEPTH - 1]!;
    const lineage = [...row.lineage.slice(0, SPECIES_DEPTH), row.name.slice(genus.length + 1)];
    yield { column, lineage, commonName: commonName(seed, column, lineage[0]!) };
    column++;
  }
  if (column !== species) throw new Error(`synthetic species: produced ${column}, expected ${species}`);
}

function commonName(seed: number, column: number, kingdom: string): string {
  const h = hash32(seed, 41, column);
  if (h % 1000 >= COMMON_NAME_PER_MILLE) return "";
  const nouns = PLANT_KINGDOMS.has(kingdom) ? PLANT_NOUNS : ANIMAL_NOUNS;
  const adjective = ADJECTIVES[hash32(h, 1) % ADJECTIVES.length]!;
  return `${adjective} ${nouns[hash32(h, 2) % nouns.length]!}`;
}

/** Species `column`'s vector: iid normal coordinates from (seed, column), normalised, rounded to float32. */
export function speciesVector(seed: number, column: number, out: Float32Array): Float32Array {
  const random = new Random(seed, STREAM_VECTORS, column);
  const values = new Float64Array(out.length);
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    values[i] = random.gaussian();
    sum += values[i]! * values[i]!;
  }
  const scale = 1 / Math.sqrt(sum);
  for (let i = 0; i < values.length; i++) out[i] = values[i]! * scale;
  return out;
}
