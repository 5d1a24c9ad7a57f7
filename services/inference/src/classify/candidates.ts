import { ClassifyError } from './errors.ts';
import { rankIndex, SPECIES_RANK, type RankName } from './ranks.ts';
import type { SpeciesIndex } from './species-index.ts';

/**
 * Which species a softmax runs over. Without a subset it is the whole index.
 * - `{ rank, names }`: pybioclip's `create_taxa_filter`: every species whose name at that rank is one of `names`
 *   (species: the binomial "Genus epithet"). Name matching, so homonyms are all included.
 * - `{ lineages }`: exact lineage prefixes from the kingdom down (["Animalia", "Chordata", "Aves"]); homonym-safe.
 * - `{ speciesIds }`: an explicit list of species, by their position in the input order.
 */
export type Subset =
  | { readonly rank: RankName; readonly names: readonly string[] }
  | { readonly lineages: readonly (readonly string[])[] }
  | { readonly speciesIds: readonly number[] };

/** Disjoint, ascending [start, end) position ranges of the index. */
export interface CandidateSet {
  readonly ranges: Int32Array;
  readonly count: number;
}

export function allCandidates(index: SpeciesIndex): CandidateSet {
  return { ranges: Int32Array.of(0, index.size), count: index.size };
}

export function resolveCandidates(index: SpeciesIndex, subset: Subset | undefined): CandidateSet {
  if (!subset) return allCandidates(index);
  const ranges: [number, number][] = [];
  if ('names' in subset) {
    const rank = rankIndex(subset.rank);
    const unknown: string[] = [];
    for (const name of subset.names) {
      const groups = index.groupsNamed(rank, name);
      if (groups.length === 0) unknown.push(name);
      for (const g of groups) ranges.push(index.groupRange(rank, g));
    }
    if (unknown.length > 0) {
      throw new ClassifyError('UNKNOWN_TAXON', `unknown ${subset.rank} received: ${unknown.join(', ')}. Only known ${subset.rank} may be used.`);
    }
  } else if ('lineages' in subset) {
    for (const prefix of subset.lineages) ranges.push(...lineageRanges(index, prefix));
  } else {
    for (const id of subset.speciesIds) {
      const p = index.positionOf(id);
      ranges.push([p, p + 1]);
    }
  }
  return mergeRanges(ranges);
}

function lineageRanges(index: SpeciesIndex, prefix: readonly string[]): [number, number][] {
  const unknown = () => new ClassifyError('UNKNOWN_TAXON', `no taxon with lineage ${JSON.stringify(prefix)}`);
  if (prefix.length === 0 || prefix.length > SPECIES_RANK + 1) throw unknown();
  const depth = Math.min(prefix.length, SPECIES_RANK);
  const group = index.groupByLineage(prefix.slice(0, depth));
  if (group === undefined) throw unknown();
  const [start, end] = index.groupRange(depth - 1, group);
  if (prefix.length <= SPECIES_RANK) return [[start, end]];
  const out: [number, number][] = [];
  for (let p = start; p < end; p++) if (index.epithets[p] === prefix[SPECIES_RANK]) out.push([p, p + 1]);
  if (out.length === 0) throw unknown();
  return out;
}

function mergeRanges(ranges: [number, number][]): CandidateSet {
  ranges.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  let count = 0;
  for (const [s, e] of ranges) {
    const last = out.length - 1;
    if (last > 0 && s <= out[last]) {
      if (e > out[last]) {
        count += e - out[last];
        out[last] = e;
      }
    } else {
      out.push(s, e);
      count += e - s;
    }
  }
  if (count === 0) throw new ClassifyError('EMPTY_CANDIDATES', 'the subset selects no species');
  return { ranges: Int32Array.from(out), count };
}

/**
 * Splits the candidates into chunks of at most `maxRows` species, each chunk a list of [start, end) ranges. Small
 * scattered ranges (an explicit species list) share a chunk instead of costing one scorer call each.
 */
export function candidateChunks(candidates: CandidateSet, maxRows: number): Int32Array[] {
  const chunks: Int32Array[] = [];
  let current: number[] = [];
  let rows = 0;
  const r = candidates.ranges;
  for (let i = 0; i < r.length; i += 2) {
    let s = r[i];
    while (s < r[i + 1]) {
      const e = Math.min(r[i + 1], s + (maxRows - rows));
      current.push(s, e);
      rows += e - s;
      s = e;
      if (rows === maxRows) {
        chunks.push(Int32Array.from(current));
        current = [];
        rows = 0;
      }
    }
  }
  if (rows > 0) chunks.push(Int32Array.from(current));
  return chunks;
}

/** Number of species in a list of [start, end) ranges. */
export function rangeRows(ranges: Int32Array): number {
  let n = 0;
  for (let i = 0; i < ranges.length; i += 2) n += ranges[i + 1] - ranges[i];
  return n;
}
