/**
 * CLIP's byte-level byte-pair encoding: the byte ↔ character table, the merges list, the vocabulary
 * built from them, and the merge loop with a bounded cache.
 */
import { TokenizerError } from './errors.ts';

export const SOT_TOKEN = '<start_of_text>';
export const EOT_TOKEN = '<end_of_text>';

/** open_clip keeps merges lines [1, 49152 - 256 - 2 + 1) of the file: 48,894 merges. */
export const MERGES_USED = 49152 - 256 - 2;
/** 256 byte characters, the same with `</w>`, the merges, and the two special tokens. */
export const VOCAB_SIZE = 256 * 2 + MERGES_USED + 2;

const END_OF_WORD = '</w>';

/**
 * Maps every byte to a printable character: printable Latin-1 bytes map to themselves, the other 68
 * bytes (controls, space, 0x7F–0xA0, 0xAD) to U+0100 upwards, in byte order. BPE then never sees
 * whitespace or control characters, and every byte sequence has a spelling.
 */
export function bytesToUnicode(): string[] {
  const isPrintable = (b: number): boolean =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const table = new Array<string>(256);
  let next = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = isPrintable(b) ? String.fromCharCode(b) : String.fromCharCode(256 + next++);
  }
  return table;
}

/**
 * The 256 byte characters in open_clip's vocabulary order: its table lists the printable bytes first,
 * then the remapped ones, each group in byte order.
 */
function byteVocabularyOrder(byteChars: string[]): string[] {
  const printable: string[] = [];
  const remapped: string[] = [];
  for (let b = 0; b < 256; b++) {
    const ch = byteChars[b];
    (ch.charCodeAt(0) >= 256 ? remapped : printable).push(ch);
  }
  return [...printable, ...remapped];
}

export type Merge = readonly [string, string];

/** Parses the merges file text (already decompressed) and keeps the merges open_clip uses. */
export function parseMerges(fileText: string): Merge[] {
  const lines = fileText.split('\n');
  if (lines.length < MERGES_USED + 1) {
    throw new TokenizerError(
      'VOCABULARY_INVALID',
      `merges file has ${lines.length} lines; expected at least ${MERGES_USED + 1}`,
    );
  }
  const merges: Merge[] = new Array(MERGES_USED);
  for (let i = 0; i < MERGES_USED; i++) {
    const line = lines[i + 1];
    const parts = line.split(' ');
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
      throw new TokenizerError('VOCABULARY_INVALID', `merges line ${i + 2} is not two symbols: ${JSON.stringify(line)}`);
    }
    merges[i] = [parts[0], parts[1]];
  }
  return merges;
}

/** Token string → id, exactly open_clip's `encoder`. */
export function buildVocabulary(byteChars: string[], merges: readonly Merge[]): Map<string, number> {
  const base = byteVocabularyOrder(byteChars);
  const entries = [...base, ...base.map((c) => c + END_OF_WORD), ...merges.map(([a, b]) => a + b), SOT_TOKEN, EOT_TOKEN];
  const vocab = new Map<string, number>();
  entries.forEach((token, id) => vocab.set(token, id));
  if (vocab.size !== VOCAB_SIZE) {
    throw new TokenizerError('VOCABULARY_INVALID', `vocabulary has ${vocab.size} distinct entries; expected ${VOCAB_SIZE}`);
  }
  return vocab;
}

export interface BpeCacheOptions {
  /**
   * Most words kept in the cache. open_clip's cache never evicts; a service tokenizing arbitrary user
   * text must not grow without bound, so the oldest entries are dropped past this size.
   */
  maxCacheEntries?: number;
}

export const DEFAULT_MAX_CACHE_ENTRIES = 100_000;

/** Splits one byte-encoded word into its BPE symbols (the last carries `</w>`). */
export class BytePairEncoder {
  private readonly ranks = new Map<string, number>();
  private readonly cache = new Map<string, readonly string[]>();
  private readonly maxCacheEntries: number;

  constructor(merges: readonly Merge[], options: BpeCacheOptions = {}) {
    // Byte-encoded symbols never contain a space, so "a b" identifies the pair unambiguously.
    merges.forEach(([a, b], rank) => this.ranks.set(`${a} ${b}`, rank));
    this.maxCacheEntries = options.maxCacheEntries ?? DEFAULT_MAX_CACHE_ENTRIES;
  }

  get cacheSize(): number {
    return this.cache.size;
  }

  encodeWord(word: string): readonly string[] {
    const cached = this.cache.get(word);
    if (cached) return cached;
    const symbols = this.merge(word);
    if (this.maxCacheEntries > 0) {
      if (this.cache.size >= this.maxCacheEntries) {
        const oldest = this.cache.keys().next().value as string;
        this.cache.delete(oldest);
      }
      this.cache.set(word, symbols);
    }
    return symbols;
  }

  /** Greedy lowest-rank-first merging, as CLIP's `bpe()`: merge every occurrence of the best pair, repeat. */
  private merge(word: string): string[] {
    let symbols = Array.from(word);
    symbols[symbols.length - 1] += END_OF_WORD;
    while (symbols.length > 1) {
      let bestRank = Infinity;
      let bestFirst = '';
      let bestSecond = '';
      for (let i = 0; i < symbols.length - 1; i++) {
        const rank = this.ranks.get(`${symbols[i]} ${symbols[i + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          bestFirst = symbols[i];
          bestSecond = symbols[i + 1];
        }
      }
      if (bestRank === Infinity) break;
      const merged: string[] = [];
      for (let i = 0; i < symbols.length; ) {
        if (i < symbols.length - 1 && symbols[i] === bestFirst && symbols[i + 1] === bestSecond) {
          merged.push(bestFirst + bestSecond);
          i += 2;
        } else {
          merged.push(symbols[i]);
          i += 1;
        }
      }
      symbols = merged;
    }
    return symbols;
  }
}
