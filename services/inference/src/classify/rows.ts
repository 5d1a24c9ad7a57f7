import { RANKS, SPECIES_RANK } from './ranks.ts';
import type { SpeciesIndex } from './species-index.ts';

/**
 * One prediction in pybioclip's shape: the lineage columns down to the requested rank, then the score. At species
 * rank the columns are kingdom … genus, species_epithet, species ("Genus epithet"), common_name, score.
 */
export interface PredictionRow {
  kingdom: string;
  phylum?: string;
  class?: string;
  order?: string;
  family?: string;
  genus?: string;
  species_epithet?: string;
  species?: string;
  common_name?: string;
  score: number;
}

/** pybioclip's column names for a rank, in order (score excluded). */
export function rowColumns(rank: number): string[] {
  const cols: string[] = RANKS.slice(0, Math.min(rank, SPECIES_RANK - 1) + 1);
  if (rank === SPECIES_RANK) cols.push('species_epithet', 'species', 'common_name');
  return cols;
}

export function groupRow(index: SpeciesIndex, rank: number, group: number, score: number): PredictionRow {
  const lineage = index.groupLineage(rank, group);
  const row: Record<string, string | number> = {};
  for (let r = 0; r <= Math.min(rank, SPECIES_RANK - 1); r++) row[RANKS[r]] = lineage[r];
  if (rank === SPECIES_RANK) {
    row.species_epithet = lineage[SPECIES_RANK];
    row.species = `${lineage[SPECIES_RANK - 1]} ${lineage[SPECIES_RANK]}`;
    row.common_name = index.commonNames[group];
  }
  row.score = score;
  return row as unknown as PredictionRow;
}
