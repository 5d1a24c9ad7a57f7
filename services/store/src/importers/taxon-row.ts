import type { StagedName, StagedTaxonNode } from "../repositories/import.repository.ts";

/** What one taxonomy input row stages: one node (parent/child, DwC-A) or a whole lineage. */
export interface TaxonRowValue {
  nodes: StagedTaxonNode[];
  names: StagedName[];
}

/** Picks the first of several accepted column names that the file has. */
export function pickColumn(header: { has(column: string): boolean }, candidates: readonly string[]): string | undefined {
  return candidates.find((name) => header.has(name));
}

export function emptyToNull(value: string): string | null {
  const trimmed = value.trim();
  return trimmed === "" ? null : trimmed;
}
