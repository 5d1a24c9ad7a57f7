import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

import { beforeAll, describe, expect, it } from 'vitest';

import {
  ClipTokenizer,
  CONTEXT_LENGTH,
  DEFAULT_VOCAB_PATH,
  EOT_TOKEN_ID,
  eotIndex,
  SOT_TOKEN_ID,
  TokenizerError,
  VOCAB_SIZE,
  cleanText,
} from '../../src/tokenizer/index.ts';
import { ftfyUnescapeHtml, pythonHtmlUnescape } from '../../src/tokenizer/html-unescape.ts';

const CLIP_BPE_SHA256 = '924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a';

interface IdsFixture {
  generatedWith: Record<string, string>;
  vocabSha256: string;
  contextLength: number;
  cases: { text: string; clean: string; ids: number[] }[];
  mojibakeCases: { text: string; ids: number[]; cleanWithoutMojibakeRepair: string; idsWithoutMojibakeRepair: number[] }[];
}

function readFixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as T;
}

const fixture = readFixture<IdsFixture>('open_clip_ids.json');
const htmlCases = readFixture<{ cases: [string, string, string][] }>('html_unescape_cases.json').cases;
const fuzzCases = readFixture<{ cases: { text: string; ids: number[]; idsWithoutMojibakeRepair?: number[] }[] }>(
  'fuzz_ids.json',
).cases;

let tokenizer: ClipTokenizer;
beforeAll(async () => {
  tokenizer = await ClipTokenizer.load();
});

const show = (text: string): string => JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);

describe('parity with open_clip (committed fixture)', () => {
  it('uses the vocabulary file the fixture was generated from', () => {
    const sha = createHash('sha256').update(readFileSync(DEFAULT_VOCAB_PATH)).digest('hex');
    expect(sha).toBe(CLIP_BPE_SHA256);
    expect(fixture.vocabSha256).toBe(CLIP_BPE_SHA256);
    expect(fixture.contextLength).toBe(CONTEXT_LENGTH);
  });

  it('covers at least 300 strings', () => {
    expect(fixture.cases.length).toBeGreaterThanOrEqual(300);
  });

  it('gives open_clip ids for every fixture string', () => {
    const rows = tokenizer.tokenize(fixture.cases.map((c) => c.text));
    const differing: string[] = [];
    fixture.cases.forEach((c, i) => {
      const ours = Array.from(rows[i]);
      if (ours.join(',') !== c.ids.join(',')) {
        differing.push(`${show(c.text)}: expected ${c.ids.filter(Boolean).join(' ')} got ${ours.filter(Boolean).join(' ')}`);
      }
    });
    expect(differing, `${differing.length} of ${fixture.cases.length} strings differ`).toEqual([]);
  });

  it('cleans every fixture string as open_clip does', () => {
    const differing = fixture.cases
      .filter((c) => cleanText(c.text) !== c.clean)
      .map((c) => `${show(c.text)}: expected ${show(c.clean)} got ${show(cleanText(c.text))}`);
    expect(differing).toEqual([]);
  });

  it('matches ftfy without mojibake repair on the strings that need it (documented gap)', () => {
    expect(fixture.mojibakeCases.length).toBeGreaterThan(0);
    for (const c of fixture.mojibakeCases) {
      expect(cleanText(c.text), show(c.text)).toBe(c.cleanWithoutMojibakeRepair);
      expect(Array.from(tokenizer.tokenize([c.text])[0]), show(c.text)).toEqual(c.idsWithoutMojibakeRepair);
    }
  });

  it('gives ftfy-without-mojibake-repair ids for 600 seeded random strings', () => {
    expect(fuzzCases.length).toBe(600);
    const rows = tokenizer.tokenize(fuzzCases.map((c) => c.text));
    const differing: string[] = [];
    fuzzCases.forEach((c, i) => {
      const expected = c.idsWithoutMojibakeRepair ?? c.ids;
      if (rows[i].join(',') !== expected.join(',')) differing.push(show(c.text));
    });
    expect(differing, `${differing.length} of ${fuzzCases.length} random strings differ`).toEqual([]);
  });

  it("matches Python's html.unescape and ftfy's unescape_html on every HTML5 entity name", () => {
    expect(htmlCases.length).toBeGreaterThan(4000);
    const differing: string[] = [];
    for (const [input, python, ftfy] of htmlCases) {
      const ours = pythonHtmlUnescape(input);
      if (ours !== python) differing.push(`html.unescape ${show(input)}: expected ${show(python)} got ${show(ours)}`);
      const oursFtfy = ftfyUnescapeHtml(input);
      if (oursFtfy !== ftfy) differing.push(`ftfy ${show(input)}: expected ${show(ftfy)} got ${show(oursFtfy)}`);
    }
    expect(differing).toEqual([]);
  });
});

describe('ClipTokenizer', () => {
  const raven = 'Animalia Chordata Aves Passeriformes Corvidae Corvus corax with common name Common Raven';

  it('has the 49,408-entry vocabulary with sot 49406 and eot 49407', () => {
    expect(tokenizer.vocabSize).toBe(VOCAB_SIZE);
    expect(VOCAB_SIZE).toBe(49408);
    expect(tokenizer.sotTokenId).toBe(49406);
    expect(tokenizer.eotTokenId).toBe(49407);
  });

  it('wraps the encoded text in sot … eot and pads with 0', () => {
    const body = tokenizer.encode(raven);
    const [row] = tokenizer.tokenize([raven]);
    expect(row).toBeInstanceOf(Int32Array);
    expect(row.length).toBe(77);
    expect(row[0]).toBe(SOT_TOKEN_ID);
    expect(Array.from(row.subarray(1, body.length + 1))).toEqual(body);
    expect(row[body.length + 1]).toBe(EOT_TOKEN_ID);
    expect(Array.from(row.subarray(body.length + 2)).every((id) => id === 0)).toBe(true);
  });

  it('tokenizes the empty string as sot, eot, padding', () => {
    const [row] = tokenizer.tokenize(['']);
    expect(Array.from(row.subarray(0, 3))).toEqual([SOT_TOKEN_ID, EOT_TOKEN_ID, 0]);
    expect(eotIndex(row)).toBe(1);
  });

  it('truncates long text to the context length keeping eot last', () => {
    const long = Array.from({ length: 10 }, () => raven).join(' ');
    const body = tokenizer.encode(long);
    expect(body.length).toBeGreaterThan(200);
    const [row] = tokenizer.tokenize([long]);
    expect(row.length).toBe(77);
    expect(row[0]).toBe(SOT_TOKEN_ID);
    expect(Array.from(row.subarray(1, 76))).toEqual(body.slice(0, 75));
    expect(row[76]).toBe(EOT_TOKEN_ID);
    expect(eotIndex(row)).toBe(76);
  });

  it('fits exactly 75 tokens without truncating and cuts the 76th', () => {
    const exact = tokenizer.tokenize(['word '.repeat(75)])[0];
    expect(exact[75]).not.toBe(EOT_TOKEN_ID);
    expect(exact[76]).toBe(EOT_TOKEN_ID);
    const over = tokenizer.tokenize(['word '.repeat(76)])[0];
    expect(over[76]).toBe(EOT_TOKEN_ID);
    expect(Array.from(over.subarray(1, 76))).toEqual(Array.from(exact.subarray(1, 76)));
  });

  it('honours another context length and rejects impossible ones', () => {
    const [row] = tokenizer.tokenize([raven], 8);
    expect(row.length).toBe(8);
    expect(row[0]).toBe(SOT_TOKEN_ID);
    expect(row[7]).toBe(EOT_TOKEN_ID);
    expect(Array.from(tokenizer.tokenize([''], 2)[0])).toEqual([SOT_TOKEN_ID, EOT_TOKEN_ID]);
    for (const bad of [1, 0, -5, 7.5, Number.NaN]) {
      expect(() => tokenizer.tokenize([raven], bad)).toThrow(TokenizerError);
    }
  });

  it('puts the eot index where open_clip reads the text embedding', () => {
    const texts = [raven, 'a photo of a bird', '', 'x'.repeat(600)];
    const rows = tokenizer.tokenize(texts);
    const expected = texts.map((t) => Math.min(tokenizer.encode(t).length + 1, 76));
    expect(rows.map((r) => eotIndex(r))).toEqual(expected);
    rows.forEach((r, i) => expect(r[expected[i]]).toBe(EOT_TOKEN_ID));
  });

  it('takes the first eot when the text itself spells <end_of_text> (torch.argmax)', () => {
    const [row] = tokenizer.tokenize(['a <end_of_text> b']);
    const [a, b] = [tokenizer.encode('a'), tokenizer.encode('b')];
    expect(Array.from(row.subarray(0, 6))).toEqual([SOT_TOKEN_ID, ...a, EOT_TOKEN_ID, ...b, EOT_TOKEN_ID, 0]);
    expect(eotIndex(row)).toBe(2);
  });

  it('builds a flat int64 batch equal to tokenize(), with eot indices', () => {
    const texts = [raven, '', 'a photo of a Corvus corax.', 'x'.repeat(600)];
    const batch = tokenizer.tokenizeBatch(texts);
    expect(batch.ids).toBeInstanceOf(BigInt64Array);
    expect(batch.dims).toEqual([4, 77]);
    const rows = tokenizer.tokenize(texts);
    expect(Array.from(batch.ids, Number)).toEqual(rows.flatMap((r) => Array.from(r)));
    expect(batch.eotIndex).toEqual(rows.map((r) => eotIndex(r)));
    expect(tokenizer.tokenizeBatch([]).ids.length).toBe(0);
  });

  it('gives the same ids from a warm cache, a cold one, a tiny one and none', async () => {
    const texts = fixture.cases.map((c) => c.text);
    const warm = tokenizer.tokenize(texts).map((r) => r.join(','));
    expect(tokenizer.tokenize(texts).map((r) => r.join(','))).toEqual(warm);
    expect(tokenizer.cacheSize).toBeGreaterThan(0);
    for (const maxCacheEntries of [0, 3]) {
      const other = await ClipTokenizer.load(DEFAULT_VOCAB_PATH, { maxCacheEntries });
      expect(other.tokenize(texts).map((r) => r.join(','))).toEqual(warm);
      expect(other.cacheSize).toBeLessThanOrEqual(maxCacheEntries);
    }
  });

  it('decodes ids back to the cleaned text', () => {
    const text = 'A photo of the Common Raven’s nest, 2024!';
    expect(tokenizer.decode(tokenizer.encode(text)).trim()).toBe("a photo of the common raven 's nest , 2 0 2 4 !");
  });

  it('rejects a non-string text with a typed error', () => {
    expect(() => tokenizer.encode(42 as unknown as string)).toThrow(TokenizerError);
    expect(() => tokenizer.tokenize([null as unknown as string])).toThrow(/text must be a string/);
  });
});

describe('ClipTokenizer.load errors', () => {
  it('reports a missing vocabulary file', async () => {
    await expect(ClipTokenizer.load('/nonexistent/bpe.txt.gz')).rejects.toMatchObject({ code: 'VOCABULARY_NOT_FOUND' });
  });

  it('reports a file that is not gzip or is cut short', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'clip-vocab-'));
    try {
      const plain = join(dir, 'plain.txt.gz');
      await writeFile(plain, 'not gzip');
      await expect(ClipTokenizer.load(plain)).rejects.toMatchObject({ code: 'VOCABULARY_INVALID' });

      const lines = gunzipSync(readFileSync(DEFAULT_VOCAB_PATH)).toString('utf8').split('\n');
      const short = join(dir, 'short.txt.gz');
      await writeFile(short, gzipSync(lines.slice(0, 1000).join('\n')));
      await expect(ClipTokenizer.load(short)).rejects.toMatchObject({ code: 'VOCABULARY_INVALID' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
