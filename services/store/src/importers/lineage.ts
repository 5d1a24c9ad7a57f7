import type { StagedTaxonNode } from "../repositories/import.repository.ts";
import { normaliseHigherName, normaliseSpeciesName, cleanName } from "./names.ts";
import { LINEAGE_RANKS, type LineageRank } from "./ranks.ts";

/** The raw values of a 7-rank lineage; the species value may be a binomial or an epithet alone. */
export type LineageValues = Partial<Record<LineageRank, string>>;

export interface LineageLeaf {
  commonName?: string | null;
  commonNameLanguage?: string | null;
  authorship?: string | null;
  externalId?: string | null;
}

export type LineageResult =
  | { nodes: StagedTaxonNode[]; leafKey: string | null; error?: undefined }
  | { error: { field: LineageRank; message: string }; nodes?: undefined; leafKey?: undefined };

/**
 * Turns a lineage into staged nodes with synthetic keys ("kingdom=Animalia|phylum=Chordata|…").
 * Empty ranks are skipped: a node's parent is its nearest present ancestor. An epithet alone
 * becomes "Genus epithet"; names are normalised (capitalised higher ranks, MDD underscores).
 * The leaf (deepest present rank) carries the common name, authorship and external id.
 */
export function buildLineageNodes(values: LineageValues, lineNo: number, leaf: LineageLeaf = {}): LineageResult {
  const present: Array<{ rank: LineageRank; name: string }> = [];
  const genus = normaliseHigherName(values.genus ?? "");
  for (const rank of LINEAGE_RANKS) {
    const raw = cleanName(values[rank]);
    if (raw === "") continue;
    if (rank === "species") {
      if (!raw.replace(/_/g, " ").includes(" ") && genus === "") {
        return { error: { field: "species", message: `species epithet "${raw}" without a genus` } };
      }
      present.push({ rank, name: normaliseSpeciesName(raw, genus) });
    } else {
      if (/\s/.test(raw)) return { error: { field: rank, message: `"${raw}" is not a single ${rank} name` } };
      present.push({ rank, name: normaliseHigherName(raw) });
    }
  }
  if (present.length === 0) return { nodes: [], leafKey: null };
  const nodes: StagedTaxonNode[] = [];
  let parentKey: string | null = null;
  let key = "";
  present.forEach((entry, at) => {
    key = key === "" ? `${entry.rank}=${entry.name}` : `${key}|${entry.rank}=${entry.name}`;
    const isLeaf = at === present.length - 1;
    nodes.push({
      sourceKey: key,
      parentSourceKey: parentKey,
      acceptedSourceKey: null,
      rank: entry.rank,
      scientificName: entry.name,
      authorship: isLeaf ? (leaf.authorship ?? null) : null,
      commonName: isLeaf ? (leaf.commonName ?? null) : null,
      commonNameLanguage: isLeaf && leaf.commonName ? (leaf.commonNameLanguage ?? "en") : null,
      externalId: isLeaf ? (leaf.externalId ?? null) : null,
      lineNo,
    });
    parentKey = key;
  });
  return { nodes, leafKey: key };
}
