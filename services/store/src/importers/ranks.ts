/** The taxon_rank enum of the schema, root first (the order Postgres compares them in). */
export const TAXON_RANKS = [
  "kingdom", "subkingdom", "phylum", "subphylum", "superclass", "class", "subclass", "infraclass",
  "superorder", "order", "suborder", "infraorder", "superfamily", "family", "subfamily", "tribe",
  "genus", "subgenus", "species", "subspecies", "variety", "form",
] as const;

export type TaxonRank = (typeof TAXON_RANKS)[number];

/** The seven ranks of a lineage (BioCLIP 2 / TreeOfLife labels), root first. */
export const LINEAGE_RANKS = ["kingdom", "phylum", "class", "order", "family", "genus", "species"] as const;
export type LineageRank = (typeof LINEAGE_RANKS)[number];

/**
 * iNaturalist rank_level → rank (iNaturalist's Taxon::RANK_LEVELS). Levels whose iNaturalist rank
 * Arbor's enum lacks (zoosection 34, epifamily 32, supertribe 26, subtribe 24, section 13,
 * subsection 12, complex 11) are refused rather than guessed.
 */
export const INAT_RANK_LEVELS: ReadonlyMap<number, TaxonRank> = new Map<number, TaxonRank>([
  [70, "kingdom"],
  [67, "subkingdom"],
  [60, "phylum"],
  [57, "subphylum"],
  [53, "superclass"],
  [50, "class"],
  [47, "subclass"],
  [45, "infraclass"],
  [43, "superorder"],
  [40, "order"],
  [37, "suborder"],
  [35, "infraorder"],
  [33, "superfamily"],
  [30, "family"],
  [27, "subfamily"],
  [25, "tribe"],
  [20, "genus"],
  [15, "subgenus"],
  [10, "species"],
  [5, "subspecies"],
]);

// Spellings seen in DwC-A exports (GBIF, Catalogue of Life) and iNaturalist's rank column.
const RANK_ALIASES: Record<string, TaxonRank> = {
  regnum: "kingdom",
  division: "phylum",
  classis: "class",
  ordo: "order",
  familia: "family",
  sp: "species",
  "sp.": "species",
  ssp: "subspecies",
  "ssp.": "subspecies",
  infraspecies: "subspecies",
  var: "variety",
  "var.": "variety",
  varietas: "variety",
  forma: "form",
  "f.": "form",
};

const RANK_SET: ReadonlySet<string> = new Set(TAXON_RANKS);

/** Parses a rank name (case-insensitive, with common aliases); null when it is not one of Arbor's ranks. */
export function parseRank(value: string): TaxonRank | null {
  const key = value.trim().toLowerCase();
  if (RANK_SET.has(key)) return key as TaxonRank;
  return RANK_ALIASES[key] ?? null;
}
