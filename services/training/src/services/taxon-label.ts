import { TAXON_RANKS } from "@arbor/store/importers/ranks.ts";
import type { TaxonLineageRow } from "@arbor/store";
import { taxonLabel } from "@arbor/inference/classify/zero-shot-labels.ts";

const SPECIES_LEVEL = TAXON_RANKS.indexOf("species");

/**
 * The 7-entry lineage of the TreeOfLife zero-shot labels, [kingdom, phylum, class, order, family,
 * genus, epithet], from a taxon's ancestors; absent ranks are ''. A taxon at or below species
 * contributes its own name without the genus ("Corvus corax" → "corax"; a subspecies keeps its
 * trinomial tail).
 */
export function lineageOf(row: TaxonLineageRow): string[] {
  const names = row.lineage;
  const genus = names.genus ?? "";
  const isSpeciesLevel = TAXON_RANKS.indexOf(row.rank as (typeof TAXON_RANKS)[number]) >= SPECIES_LEVEL;
  return [names.kingdom ?? "", names.phylum ?? "", names.class ?? "", names.order ?? "", names.family ?? "", genus, isSpeciesLevel ? epithetOf(row.scientificName, genus) : ""];
}

function epithetOf(name: string, genus: string): string {
  if (genus !== "" && name.startsWith(`${genus} `)) return name.slice(genus.length + 1);
  const space = name.indexOf(" ");
  return space < 0 ? name : name.slice(space + 1);
}

/** The class text make_txt_embedding.py embeds: the lineage, plus " with common name X" when known. */
export function labelOf(row: TaxonLineageRow): string {
  return taxonLabel(lineageOf(row), row.commonName);
}
