import { hash32, Random } from "../lib/prng.ts";
import { GENUS, SPECIES, type SyntheticTree } from "./tree.ts";

/**
 * What goes into the benchmark database besides the tree: images on species (most of them on the
 * species of a few well-photographed genera, the rest scattered), traits on 10 % of species and on
 * genera, synonyms on some species. Every row is a pure function of (seed, index).
 */

export interface DatasetSpec {
  taxa: number;
  images: number;
  seed: number;
  /** Share of species carrying traits (2–4 each). */
  traitSpeciesShare: number;
}

// Bump when the generated rows change, so `--reuse` reloads instead of benchmarking stale data.
const GENERATOR_VERSION = 1;

export function fingerprint(spec: DatasetSpec): string {
  return JSON.stringify({ v: GENERATOR_VERSION, ...spec });
}

const STREAM_POPULAR = 11;
const STREAM_IMAGE = 12;
const STREAM_TRAIT_PICK = 13;
const STREAM_TRAIT_VALUES = 14;
const STREAM_SYNONYM = 15;

/** Share of genera whose species carry most images (think: birds vs. soil nematodes). */
const POPULAR_GENUS_SHARE = 0.05;
const POPULAR_IMAGE_SHARE = 0.8;
const OTHER_GENUS_TRAIT_SHARE = 0.1;
const SYNONYM_SHARE = 0.05;

export function isPopularGenus(seed: number, genusId: number): boolean {
  return hash32(seed, STREAM_POPULAR, genusId) / 4294967296 < POPULAR_GENUS_SHARE;
}

export interface ImageRowData {
  id: string;
  sha256: string;
  taxonId: number;
  sourceId: string;
  sourceUrl: string;
  license: string;
  rightsHolder: string | null;
  width: number;
  height: number;
  createdAt: Date;
}

const LICENSES = ["CC-BY-4.0", "CC-BY-NC-4.0", "CC0-1.0", "CC-BY-SA-4.0", "CC-BY-NC-SA-4.0"];
const EPOCH = Date.UTC(2015, 0, 1);
const SPAN_MS = Date.UTC(2026, 0, 1) - EPOCH;

function hex(random: Random, words: number): string {
  let out = "";
  for (let i = 0; i < words; i++) out += random.uint32().toString(16).padStart(8, "0");
  return out;
}

/** Species picked for images: POPULAR_IMAGE_SHARE of them among popular genera's species. */
export class ImagePlan {
  private readonly popularSpecies: Int32Array;

  constructor(
    private readonly tree: SyntheticTree,
    private readonly seed: number,
  ) {
    const popular: number[] = [];
    for (const speciesId of tree.speciesIds) if (isPopularGenus(seed, tree.parent[speciesId]!)) popular.push(speciesId);
    this.popularSpecies = Int32Array.from(popular);
  }

  row(index: number): ImageRowData {
    const random = new Random(this.seed, STREAM_IMAGE, index);
    const pool = random.float() < POPULAR_IMAGE_SHARE && this.popularSpecies.length > 0 ? this.popularSpecies : this.tree.speciesIds;
    const taxonId = pool[random.int(0, pool.length - 1)]!;
    const id = hex(random, 4);
    const uuid = `${id.slice(0, 8)}-${id.slice(8, 12)}-4${id.slice(13, 16)}-8${id.slice(17, 20)}-${id.slice(20)}`;
    const landscape = random.float() < 0.7;
    return {
      id: uuid,
      sha256: hex(random, 8),
      taxonId,
      sourceId: String(index),
      sourceUrl: `https://images.example.org/bench/${uuid}.jpg`,
      license: LICENSES[random.int(0, LICENSES.length - 1)]!,
      rightsHolder: random.float() < 0.1 ? null : `Observer ${random.int(1, 20_000)}`,
      width: landscape ? 1024 : 768,
      height: landscape ? 768 : 1024,
      createdAt: new Date(EPOCH + Math.floor(random.float() * SPAN_MS)),
    };
  }
}

export interface TraitRowData {
  taxonId: number;
  name: string;
  numericValue: number | null;
  textValue: string | null;
  unit: string | null;
  source: string;
  reference: string | null;
}

const TRAITS: ReadonlyArray<{ name: string; unit: string | null; source: string; reference: string | null; values?: string[]; range?: [number, number] }> = [
  { name: "Mass", unit: "g", source: "AVONET", reference: "Tobias et al. 2022", range: [2, 5000] },
  { name: "Wing.Length", unit: "mm", source: "AVONET", reference: "Tobias et al. 2022", range: [20, 800] },
  { name: "Habitat", unit: null, source: "AVONET", reference: "Tobias et al. 2022", values: ["Forest", "Woodland", "Grassland", "Wetland", "Desert", "Marine", "Rock"] },
  { name: "Trophic.Level", unit: null, source: "AVONET", reference: null, values: ["Herbivore", "Omnivore", "Carnivore", "Scavenger"] },
  { name: "AdultBodyMass", unit: "g", source: "PanTHERIA", reference: "Jones et al. 2009", range: [1, 100000] },
  { name: "LitterSize", unit: null, source: "PanTHERIA", reference: "Jones et al. 2009", range: [1, 12] },
  { name: "MaximumLongevity", unit: "yr", source: "AnAge", reference: "de Magalhães & Costa 2009", range: [0.5, 120] },
];

/** Which taxa carry traits: 10 % of species, every popular genus, 10 % of other genera. */
export function hasTraits(tree: SyntheticTree, spec: DatasetSpec, id: number): boolean {
  const roll = hash32(spec.seed, STREAM_TRAIT_PICK, id) / 4294967296;
  if (tree.rank[id] === SPECIES) return roll < spec.traitSpeciesShare;
  if (tree.rank[id] === GENUS) return isPopularGenus(spec.seed, id) || roll < OTHER_GENUS_TRAIT_SHARE;
  return false;
}

/** 2–4 distinct traits of one taxon. */
export function traitsOf(seed: number, taxonId: number): TraitRowData[] {
  const random = new Random(seed, STREAM_TRAIT_VALUES, taxonId);
  const picks = random.shuffle([...TRAITS.keys()]).slice(0, random.int(2, 4));
  return picks.map((i) => {
    const trait = TRAITS[i]!;
    const numeric = trait.range ? Math.round((trait.range[0] + random.float() * (trait.range[1] - trait.range[0])) * 100) / 100 : null;
    return {
      taxonId,
      name: trait.name,
      numericValue: numeric,
      textValue: trait.values ? trait.values[random.int(0, trait.values.length - 1)]! : null,
      unit: trait.unit,
      source: trait.source,
      reference: trait.reference,
    };
  });
}

/** A former combination "Othergenus epithet" for some species, as synonyms are in real checklists. */
export function synonymOf(tree: SyntheticTree, seed: number, id: number): string | null {
  if (tree.rank[id] !== SPECIES || hash32(seed, STREAM_SYNONYM, id) / 4294967296 >= SYNONYM_SHARE) return null;
  const other = tree.genusIds[hash32(seed, STREAM_SYNONYM, id, 1) % tree.genusIds.length]!;
  const epithet = tree.scientificName[id]!.split(" ")[1]!;
  const synonym = `${tree.scientificName[other]} ${epithet}`;
  return synonym === tree.scientificName[id] ? null : synonym;
}
