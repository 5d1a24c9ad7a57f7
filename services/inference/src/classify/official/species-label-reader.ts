import { createReadStream } from 'node:fs';
import { ClassifyError } from '../errors.ts';
import { RANK_COUNT } from '../ranks.ts';
import { JsonArrayScanner } from './json-array-scanner.ts';

/** One row of txt_emb_species.json: [[kingdom, phylum, class, order, family, genus, epithet], common_name]. */
export interface SpeciesLabel {
  readonly index: number;
  readonly lineage: string[];
  readonly commonName: string;
}

/** Parses and checks one element of the label file. Missing ranks are '' in the official file; null is read as ''. */
export function parseSpeciesLabel(text: string, index: number): SpeciesLabel {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ClassifyError('INVALID_LABEL_FILE', `species ${index}: not valid JSON`, { cause: e });
  }
  const bad = (why: string) => new ClassifyError('INVALID_LABEL_FILE', `species ${index}: ${why} (expected [[7 names], "common name"])`);
  if (!Array.isArray(value) || value.length !== 2) throw bad('not a pair');
  const [names, common] = value as [unknown, unknown];
  if (!Array.isArray(names) || names.length !== RANK_COUNT) throw bad(`lineage is not ${RANK_COUNT} names`);
  const lineage = names.map((n) => {
    if (n === null) return '';
    if (typeof n !== 'string') throw bad('a lineage name is not a string');
    return n;
  });
  if (common !== null && typeof common !== 'string') throw bad('common name is not a string');
  return { index, lineage, commonName: common ?? '' };
}

export interface LabelStreamOptions {
  /** Skip (without parsing) the labels before this index, for resuming. */
  readonly fromIndex?: number;
  /** Read size in bytes (default 1 MiB); UTF-8 sequences split across reads are reassembled. */
  readonly chunkBytes?: number;
}

/**
 * Streams the species labels of txt_emb_species.json (≈100 MB for 867 K species) without holding the file: the
 * array is split into elements as the bytes arrive, and each element is parsed on its own.
 */
export async function* streamSpeciesLabels(path: string, options: LabelStreamOptions = {}): AsyncGenerator<SpeciesLabel> {
  const fromIndex = options.fromIndex ?? 0;
  const scanner = new JsonArrayScanner();
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: options.chunkBytes ?? 1 << 20 });
  for await (const chunk of stream as AsyncIterable<string>) {
    // Every element takes at least one character, so a chunk cannot complete more elements than its length. If even
    // that cannot reach fromIndex, nothing from this chunk is needed (an element it leaves open is also < fromIndex).
    const keep = scanner.count + chunk.length >= fromIndex;
    const elements = scanner.push(chunk, keep);
    if (!keep) continue;
    const first = scanner.count - elements.length;
    for (let j = 0; j < elements.length; j++) {
      const index = first + j;
      if (index >= fromIndex) yield parseSpeciesLabel(elements[j], index);
    }
  }
  scanner.end();
}

/** Counts the elements of the label file (a scan without parsing; ≈1 s per 100 MB). */
export async function countSpeciesLabels(path: string): Promise<number> {
  const scanner = new JsonArrayScanner();
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 });
  for await (const chunk of stream as AsyncIterable<string>) scanner.push(chunk, false);
  scanner.end();
  return scanner.count;
}
