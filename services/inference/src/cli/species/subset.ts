import { readFile } from 'node:fs/promises';

import type { Subset } from '../../classify/candidates.ts';
import { RANKS, type RankName } from '../../classify/ranks.ts';
import type { SpeciesIndex } from '../../classify/species-index.ts';
import { parseCsv } from '../csv.ts';
import { CliError, fileReadError } from '../errors.ts';

/** A taxon name from the command line, optionally pinned to a rank ("class:Aves"). */
export interface TaxonName {
  readonly name: string;
  readonly rank?: RankName;
}

export function parseTaxonName(text: string): TaxonName {
  const match = /^\s*([a-z]+)\s*[:=]\s*(.+?)\s*$/.exec(text);
  if (match && (RANKS as readonly string[]).includes(match[1])) return { rank: match[1] as RankName, name: match[2] };
  return { name: text.trim() };
}

/**
 * pybioclip's subset CSV (first column named after a rank: `order` then Artiodactyla, Rodentia …) or a plain list of
 * names, one per line, each found at whatever rank holds it.
 */
export async function readSubsetFile(file: string): Promise<TaxonName[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw fileReadError('subset file', file, error);
  }
  let rows: string[][];
  try {
    rows = parseCsv(text);
  } catch (error) {
    throw new CliError('INVALID_INPUT', `subset file '${file}': ${(error as Error).message}`, { cause: error });
  }
  const firstColumn = rows.map((row) => (row[0] ?? '').trim()).filter((value) => value !== '');
  const header = firstColumn[0]?.toLowerCase();
  const rank = (RANKS as readonly string[]).includes(header ?? '') ? (header as RankName) : undefined;
  const names = (rank ? firstColumn.slice(1) : firstColumn).map((name) => (rank ? { rank, name } : parseTaxonName(name)));
  if (names.length === 0) throw new CliError('INVALID_INPUT', `subset file '${file}' names no taxon`);
  return names;
}

/**
 * The candidate species under the named taxa: every taxon of that name (homonyms included, as pybioclip's filter
 * does); a name without a rank is looked up at every rank (species: "Genus epithet") and must be found at exactly one.
 * Returned as lineage prefixes, so taxa of different ranks combine into one subset.
 */
export function subsetOf(index: SpeciesIndex, taxa: readonly TaxonName[]): Subset {
  const lineages: string[][] = [];
  const unknown: string[] = [];
  for (const taxon of taxa) {
    const ranks = taxon.rank ? [RANKS.indexOf(taxon.rank)] : RANKS.map((_, r) => r);
    const found = ranks.map((r) => ({ rank: r, groups: index.groupsNamed(r, taxon.name) })).filter((hit) => hit.groups.length > 0);
    if (found.length === 0) {
      unknown.push(taxon.rank ? `${taxon.rank} ${taxon.name}` : taxon.name);
      continue;
    }
    if (found.length > 1) {
      const where = found.map((hit) => RANKS[hit.rank]).join(' and ');
      throw new CliError('USAGE', `'${taxon.name}' is a ${where} name: say which, e.g. '${RANKS[found[0].rank]}:${taxon.name}'`);
    }
    const [{ rank, groups }] = found;
    for (const group of groups) lineages.push(index.groupLineage(rank, group));
  }
  if (unknown.length > 0) {
    throw new CliError('INVALID_INPUT', `no candidate species under ${unknown.map((name) => `'${name}'`).join(', ')} (names must match the candidates' lineages exactly)`);
  }
  return { lineages };
}
