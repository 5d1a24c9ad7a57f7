import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

import { RANKS } from '../../classify/ranks.ts';
import { parseCsv } from '../csv.ts';
import { CliError, fileReadError } from '../errors.ts';

/** The lineage columns of a candidate list, in rank order (pybioclip's names; the species rank holds the epithet). */
export const LIST_RANK_COLUMNS = ['kingdom', 'phylum', 'class', 'order', 'family', 'genus', 'species_epithet'] as const;

export interface CandidateSpecies {
  readonly lineage: string[];
  readonly commonName: string;
}

export interface SpeciesList {
  readonly file: string;
  /** sha256 of the file's bytes: part of the embedding cache key. */
  readonly sha256: string;
  readonly species: CandidateSpecies[];
}

// Ranks a row must name; the ones between may be empty (a lineage can skip a rank), as in the official files.
const REQUIRED_RANKS = [0, 5, 6];

/**
 * Reads a candidate list: CSV with a header holding kingdom, phylum, class, order, family, genus, species_epithet and
 * optionally common_name (other columns are ignored). Kingdom, genus and epithet must be filled; a lineage listed
 * twice is an error, since its softmax weight would count twice.
 */
export async function readSpeciesList(file: string): Promise<SpeciesList> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw fileReadError('species list', file, error);
  }
  let rows: string[][];
  try {
    rows = parseCsv(bytes.toString('utf8'));
  } catch (error) {
    throw new CliError('INVALID_INPUT', `species list '${file}': ${(error as Error).message}`, { cause: error });
  }
  const [header, ...body] = rows;
  const columns = (header ?? []).map((name) => name.trim());
  const missing = LIST_RANK_COLUMNS.filter((name) => !columns.includes(name));
  if (missing.length > 0) {
    throw new CliError('INVALID_INPUT', `species list '${file}' lacks the column(s) ${missing.join(', ')} (header: ${columns.join(',')})`);
  }
  const rankAt = LIST_RANK_COLUMNS.map((name) => columns.indexOf(name));
  const commonAt = columns.indexOf('common_name');
  const seen = new Set<string>();
  const species = body
    .filter((row) => row.some((value) => value.trim() !== ''))
    .map((row, i) => {
      const lineage = rankAt.map((at) => (row[at] ?? '').trim());
      const empty = REQUIRED_RANKS.find((r) => lineage[r] === '');
      if (empty !== undefined) throw new CliError('INVALID_INPUT', `species list '${file}', row ${i + 2}: no ${RANKS[empty]}`);
      const key = lineage.join('\u0000');
      if (seen.has(key)) throw new CliError('INVALID_INPUT', `species list '${file}', row ${i + 2}: ${lineage.join(' ')} is listed twice`);
      seen.add(key);
      return { lineage, commonName: commonAt >= 0 ? (row[commonAt] ?? '').trim() : '' };
    });
  if (species.length === 0) throw new CliError('INVALID_INPUT', `species list '${file}' has no species`);
  return { file, sha256: createHash('sha256').update(bytes).digest('hex'), species };
}
