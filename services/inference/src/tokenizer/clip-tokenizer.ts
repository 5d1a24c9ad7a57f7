/**
 * open_clip's `SimpleTokenizer` + `tokenize()` (the tokenizer of OpenAI CLIP, open_clip ViT-L-14 and
 * BioCLIP 2): same cleaning, word split, byte-level BPE and ids, checked against ids produced by
 * open_clip's algorithm in Python (test/tokenizer/fixtures).
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';

import {
  type BpeCacheOptions,
  BytePairEncoder,
  buildVocabulary,
  bytesToUnicode,
  EOT_TOKEN,
  parseMerges,
  SOT_TOKEN,
} from './bpe.ts';
import { cleanText } from './clean-text.ts';
import { TokenizerError } from './errors.ts';
import { splitWords } from './split-words.ts';

export const CONTEXT_LENGTH = 77;
export const SOT_TOKEN_ID = 49406;
export const EOT_TOKEN_ID = 49407;

/** The merges file shipped in models/tokenizer (sha256 924691ac…6804a). */
export const DEFAULT_VOCAB_PATH = fileURLToPath(
  new URL('../../../../models/tokenizer/bpe_simple_vocab_16e6.txt.gz', import.meta.url),
);

const gunzipAsync = promisify(gunzip);
const PRINTABLE_ASCII = /^[\x21-\x7e]*$/;

export interface TokenBatch {
  /** Row-major [texts.length, contextLength] ids, ready for an int64 ONNX input. */
  ids: BigInt64Array;
  /** Per row, where the text embedding is read: open_clip's `text.argmax(dim=-1)`. */
  eotIndex: number[];
  dims: [number, number];
}

/**
 * Position of the embedding token in a row of ids: the first maximum, as `torch.argmax` returns it.
 * That is the first `<end_of_text>` (49407, the largest id), which is the appended one unless the text
 * itself spelled out "<end_of_text>".
 */
export function eotIndex(ids: ArrayLike<number> | BigInt64Array): number {
  let best = 0;
  for (let i = 1; i < ids.length; i++) {
    if (ids[i] > ids[best]) best = i;
  }
  return best;
}

function checkContextLength(contextLength: number): void {
  if (!Number.isInteger(contextLength) || contextLength < 2) {
    throw new TokenizerError('INVALID_CONTEXT_LENGTH', `context length must be an integer ≥ 2, got ${contextLength}`);
  }
}

export class ClipTokenizer {
  readonly sotTokenId = SOT_TOKEN_ID;
  readonly eotTokenId = EOT_TOKEN_ID;
  readonly vocabSize: number;

  private readonly byteEncoder: string[];
  private readonly vocab: Map<string, number>;
  private readonly bpe: BytePairEncoder;
  private readonly textEncoder = new TextEncoder();
  private decoderTable?: { tokens: string[]; bytes: Map<string, number> };

  private constructor(mergesFileText: string, options: BpeCacheOptions) {
    this.byteEncoder = bytesToUnicode();
    const merges = parseMerges(mergesFileText);
    this.vocab = buildVocabulary(this.byteEncoder, merges);
    if (this.vocab.get(SOT_TOKEN) !== SOT_TOKEN_ID || this.vocab.get(EOT_TOKEN) !== EOT_TOKEN_ID) {
      throw new TokenizerError('VOCABULARY_INVALID', 'special token ids differ from 49406/49407');
    }
    this.vocabSize = this.vocab.size;
    this.bpe = new BytePairEncoder(merges, options);
  }

  /** Reads the gzip'd CLIP merges file (default: models/tokenizer/bpe_simple_vocab_16e6.txt.gz). */
  static async load(vocabPath: string = DEFAULT_VOCAB_PATH, options: BpeCacheOptions = {}): Promise<ClipTokenizer> {
    let compressed: Buffer;
    try {
      compressed = await readFile(vocabPath);
    } catch (cause) {
      throw new TokenizerError('VOCABULARY_NOT_FOUND', `cannot read tokenizer vocabulary ${vocabPath}`, { cause });
    }
    let text: string;
    try {
      text = (await gunzipAsync(compressed)).toString('utf8');
    } catch (cause) {
      throw new TokenizerError('VOCABULARY_INVALID', `tokenizer vocabulary ${vocabPath} is not gzip data`, { cause });
    }
    return ClipTokenizer.fromMergesText(text, options);
  }

  /** Builds a tokenizer from the decompressed merges file text. */
  static fromMergesText(mergesFileText: string, options: BpeCacheOptions = {}): ClipTokenizer {
    return new ClipTokenizer(mergesFileText, options);
  }

  /** Words currently held by the BPE cache. */
  get cacheSize(): number {
    return this.bpe.cacheSize;
  }

  /** Token ids of one text, without sot/eot and without truncation (open_clip `SimpleTokenizer.encode`). */
  encode(text: string): number[] {
    if (typeof text !== 'string') {
      throw new TokenizerError('INVALID_TEXT', `text must be a string, got ${text === null ? 'null' : typeof text}`);
    }
    const ids: number[] = [];
    for (const word of splitWords(cleanText(text))) {
      if (word === SOT_TOKEN || word === EOT_TOKEN) {
        ids.push(this.vocab.get(word)!);
        continue;
      }
      for (const symbol of this.bpe.encodeWord(this.toByteCharacters(word))) {
        ids.push(this.vocab.get(symbol)!);
      }
    }
    return ids;
  }

  /**
   * open_clip `tokenize()`: [sot] + ids + [eot] per text, cut to `contextLength` with eot kept as the last
   * token, padded with 0.
   */
  tokenize(texts: readonly string[], contextLength: number = CONTEXT_LENGTH): Int32Array[] {
    checkContextLength(contextLength);
    return texts.map((text) => {
      const row = new Int32Array(contextLength);
      this.writeRow(text, contextLength, (i, id) => (row[i] = id));
      return row;
    });
  }

  /** `tokenize()` as one flat int64 tensor plus the eot position of each row. */
  tokenizeBatch(texts: readonly string[], contextLength: number = CONTEXT_LENGTH): TokenBatch {
    checkContextLength(contextLength);
    const ids = new BigInt64Array(texts.length * contextLength);
    const eot: number[] = [];
    texts.forEach((text, row) => {
      const offset = row * contextLength;
      this.writeRow(text, contextLength, (i, id) => (ids[offset + i] = BigInt(id)));
      eot.push(eotIndex(ids.subarray(offset, offset + contextLength)));
    });
    return { ids, eotIndex: eot, dims: [texts.length, contextLength] };
  }

  /** Text of a list of ids (open_clip `SimpleTokenizer.decode`): `</w>` becomes a space; padding is not stripped. */
  decode(ids: Iterable<number>): string {
    const table = this.decoderTable ?? (this.decoderTable = this.buildDecoderTable());
    const bytes: number[] = [];
    for (const id of ids) {
      const token = table.tokens[id];
      if (token === undefined) throw new TokenizerError('INVALID_TEXT', `unknown token id ${id}`);
      // Every vocabulary character is in the byte alphabet, the ASCII of `</w>` and the specials included.
      for (const ch of token) bytes.push(table.bytes.get(ch)!);
    }
    return new TextDecoder('utf-8').decode(Uint8Array.from(bytes)).replaceAll('</w>', ' ');
  }

  private writeRow(text: string, contextLength: number, write: (index: number, id: number) => void): void {
    const body = this.encode(text);
    const length = Math.min(body.length + 2, contextLength);
    write(0, SOT_TOKEN_ID);
    for (let i = 1; i < length - 1; i++) write(i, body[i - 1]);
    write(length - 1, EOT_TOKEN_ID);
  }

  private toByteCharacters(word: string): string {
    // Printable ASCII bytes are their own characters in the byte alphabet.
    if (PRINTABLE_ASCII.test(word)) return word;
    let out = '';
    for (const b of this.textEncoder.encode(word)) out += this.byteEncoder[b];
    return out;
  }

  private buildDecoderTable(): { tokens: string[]; bytes: Map<string, number> } {
    const tokens: string[] = [];
    for (const [token, id] of this.vocab) tokens[id] = token;
    const bytes = new Map<string, number>();
    this.byteEncoder.forEach((ch, b) => bytes.set(ch, b));
    return { tokens, bytes };
  }
}
