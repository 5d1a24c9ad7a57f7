import type { LineageRank } from "./ranks.ts";

// GBIF and TreeOfLife write these where a rank is unknown; they are not taxa.
const PLACEHOLDER_NAMES = new Set(["incertae sedis", "unknown", "unassigned", "na", "n/a", "null", "none"]);

/** Trims and collapses whitespace; '' for values that only say "unknown". */
export function cleanName(value: string | undefined | null): string {
  if (value === undefined || value === null) return "";
  const cleaned = value.replace(/\s+/g, " ").trim();
  return PLACEHOLDER_NAMES.has(cleaned.toLowerCase()) ? "" : cleaned;
}

/**
 * A name above species is one capitalised word: "MONOTREMATA" (MDD's older releases) and
 * "aves" become "Monotremata" and "Aves"; mixed-case names are kept as written.
 */
export function normaliseHigherName(value: string): string {
  const name = cleanName(value);
  if (name === "") return "";
  if (name === name.toUpperCase() || name === name.toLowerCase()) {
    return name.charAt(0).toUpperCase() + name.slice(1).toLowerCase();
  }
  return name;
}

/**
 * A species name as "Genus epithet": underscores become spaces (MDD's sciName), the genus is
 * capitalised and the epithet lower-cased; an epithet alone is prefixed with the genus.
 */
export function normaliseSpeciesName(value: string, genus?: string): string {
  const name = cleanName(value.replace(/_/g, " "));
  if (name === "") return "";
  const words = name.split(" ");
  if (words.length === 1) {
    const epithet = words[0]!.toLowerCase();
    return genus ? `${normaliseHigherName(genus)} ${epithet}` : epithet;
  }
  const [first, ...rest] = words;
  return [normaliseHigherName(first!), ...rest.map((word) => (isInfraspecificMarker(word) ? word : word.toLowerCase()))].join(" ");
}

function isInfraspecificMarker(word: string): boolean {
  return word.endsWith(".") || word === "×";
}

/** Normalises the name of any lineage rank. */
export function normaliseLineageName(rank: LineageRank, value: string, genus?: string): string {
  return rank === "species" ? normaliseSpeciesName(value, genus) : normaliseHigherName(value);
}
