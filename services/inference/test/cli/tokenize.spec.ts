import { beforeAll, describe, expect, it } from 'vitest';

import { ClipTokenizer } from '../../src/tokenizer/index.ts';
import { runArbor, SPAWNING_TEST_TIMEOUT_MS } from './run-arbor.ts';

let tokenizer: ClipTokenizer;
beforeAll(async () => {
  tokenizer = await ClipTokenizer.load();
});

const expected = (lines: string[]) => tokenizer.tokenize(lines).map((ids) => Array.from(ids));

describe('arbor tokenize', { timeout: SPAWNING_TEST_TIMEOUT_MS }, () => {
  it('prints exactly one JSON array of the 77 ClipTokenizer ids per stdin line, and nothing else', async () => {
    const lines = [
      'a photo of Animalia Chordata Aves Passeriformes Corvidae Corvus corax with common name Common Raven.',
      '',
      'Ｃｏｒｖｕｓ naïve café — 🐦‍⬛ “quoted” &amp; ﬁne',
      '  leading and trailing spaces\t',
      'Ελληνικά 日本語のテキスト مرحبا',
      'crlf line\r',
      'word '.repeat(100),
      '<end_of_text> inside',
    ];
    const run = await runArbor(['tokenize'], { input: `${lines.join('\n')}\n` });
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    const outLines = run.text.split('\n');
    expect(outLines.pop()).toBe(''); // the output ends with a newline, and has no other trailing text
    expect(outLines).toHaveLength(lines.length);
    const parsed = outLines.map((line) => JSON.parse(line) as number[]);
    for (const ids of parsed) expect(ids).toHaveLength(77);
    expect(parsed).toEqual(expected(lines));
    expect(parsed[1]).toEqual([49406, 49407, ...new Array(75).fill(0)]);
    expect(parsed[6][76]).toBe(49407); // truncated, eot kept last
  });

  it('treats a last line without a newline as a line, and an empty input as no lines', async () => {
    const noNewline = await runArbor(['tokenize'], { input: 'first\nsecond' });
    expect(noNewline.text.trimEnd().split('\n').map((l) => JSON.parse(l))).toEqual(expected(['first', 'second']));
    const empty = await runArbor(['tokenize'], { input: '' });
    expect(empty.code).toBe(0);
    expect(empty.text).toBe('');
    const oneEmptyLine = await runArbor(['tokenize'], { input: '\n' });
    expect(oneEmptyLine.text.trimEnd().split('\n').map((l) => JSON.parse(l))).toEqual(expected(['']));
  });

  it('splits lines at \\n only (U+2028 and a lone \\r stay inside the line) and decodes UTF-8 split across reads', async () => {
    const lines = ['one\u2028two', 'three\rfour', 'x'.repeat(70000) + ' é'];
    const run = await runArbor(['tokenize'], { input: Buffer.from(`${lines.join('\n')}\n`, 'utf8') });
    expect(run.text.trimEnd().split('\n').map((l) => JSON.parse(l))).toEqual(expected(lines));
  });

  it('refuses arguments with a usage error (exit 2) and answers --help', async () => {
    const bad = await runArbor(['tokenize', 'some text']);
    expect(bad.code).toBe(2);
    expect(bad.stdout.length).toBe(0);
    expect(bad.stderr).toMatch(/tokenize reads stdin/);
    const help = await runArbor(['tokenize', '--help']);
    expect(help.code).toBe(0);
    expect(help.text).toMatch(/^Usage: arbor tokenize/);
  });
});
