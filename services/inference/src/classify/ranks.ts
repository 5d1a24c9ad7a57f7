import { ClassifyError } from './errors.ts';

/** The seven ranks of a TreeOfLife lineage, in order. The species entry of a lineage is the epithet. */
export const RANKS = ['kingdom', 'phylum', 'class', 'order', 'family', 'genus', 'species'] as const;
export type RankName = (typeof RANKS)[number];
export const RANK_COUNT = RANKS.length;
export const SPECIES_RANK = RANK_COUNT - 1;
export const GENUS_RANK = RANK_COUNT - 2;

/** A 7-entry lineage [kingdom, phylum, class, order, family, genus, epithet]; missing ranks are ''. */
export type Lineage = readonly string[];

export function rankIndex(rank: string): number {
  const i = (RANKS as readonly string[]).indexOf(rank);
  if (i < 0) throw new ClassifyError('UNKNOWN_RANK', `unknown rank '${rank}': expected one of ${RANKS.join(', ')}`);
  return i;
}

export function assertLineage(lineage: unknown, where: string): asserts lineage is Lineage {
  if (!Array.isArray(lineage) || lineage.length !== RANK_COUNT || lineage.some((v) => typeof v !== 'string')) {
    throw new ClassifyError('INVALID_LINEAGE', `${where}: a lineage must be ${RANK_COUNT} strings (kingdom … epithet)`);
  }
}

/** "Genus epithet", the way pybioclip builds its `species` column. */
export function binomial(lineage: Lineage): string {
  return `${lineage[GENUS_RANK]} ${lineage[SPECIES_RANK]}`;
}
