/**
 * open_clip's text cleaning ("lower"): ftfy.fix_text, html.unescape twice, strip, collapse whitespace,
 * lower-case.
 *
 * `fixText` reproduces ftfy 6.3's `fix_text` with its default configuration EXCEPT the mojibake repair
 * (`fix_encoding` with `restore_byte_a0`, `replace_lossy_sequences`, `decode_inconsistent_utf8`), which
 * guesses from character statistics that text was decoded with the wrong codec and re-decodes it
 * ("Ã©" → "é"). Valid text almost never triggers it; see README.md for what that means for parity.
 */
import { ftfyUnescapeHtml, pythonHtmlUnescape } from './html-unescape.ts';
import { pythonCollapseWhitespace, pythonStrip } from './python-whitespace.ts';

/** ftfy splits text into lines, and lines longer than this many code points into pieces. */
const MAX_SEGMENT_CODE_POINTS = 1_000_000;

/** Windows-1252 readings of U+0080–U+009F ("sloppy": the five undefined bytes stay as they are). */
const WINDOWS_1252_C1 =
  '\u20ac\x81\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\x8d\u017d\x8f' +
  '\x90\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\x9d\u017e\u0178';

/** ftfy's Latin ligatures and legacy digraphs; other scripts' ligatures are left alone. */
const LATIN_LIGATURES: Record<string, string> = {
  '\u0132': 'IJ', '\u0133': 'ij', '\u0149': '\u02bcn',
  '\u01f1': 'DZ', '\u01f2': 'Dz', '\u01f3': 'dz',
  '\u01c4': 'D\u017d', '\u01c5': 'D\u017e', '\u01c6': 'd\u017e',
  '\u01c7': 'LJ', '\u01c8': 'Lj', '\u01c9': 'lj',
  '\u01ca': 'NJ', '\u01cb': 'Nj', '\u01cc': 'nj',
  '\ufb00': 'ff', '\ufb01': 'fi', '\ufb02': 'fl', '\ufb03': 'ffi', '\ufb04': 'ffl', '\ufb05': '\u017ft', '\ufb06': 'st',
};
const LATIN_LIGATURE_CHARS = new RegExp(`[${Object.keys(LATIN_LIGATURES).join('')}]`, 'g');

/** Half-width and full-width forms → their NFKC form, and the ideographic space → a space (ftfy's WIDTH_MAP). */
const CHARACTER_WIDTH: Map<string, string> = (() => {
  const map = new Map<string, string>([['\u3000', ' ']]);
  for (let cp = 0xff01; cp < 0xfff0; cp++) {
    const ch = String.fromCharCode(cp);
    const normal = ch.normalize('NFKC');
    if (normal !== ch) map.set(ch, normal);
  }
  return map;
})();
const WIDTH_CHARS = /[\u3000\uff01-\uffef]/g;

const SINGLE_QUOTES = /[\u02bc\u2018-\u201b]/g;
const DOUBLE_QUOTES = /[\u201c-\u201f]/g;
const C1_CONTROLS = /[\x80-\x9f]/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
/** ANSI escapes; Python's `\d` in a str pattern is any decimal digit, not just ASCII. */
const TERMINAL_ESCAPE = /\x1b\[(?:\p{Nd}|;)*[a-zA-Z]/gu;
/** ASCII controls other than tab, LF, FF, CR; deprecated Arabic format controls; BOM; interlinear annotation and U+FFFC. */
const CONTROL_CHARS = /[\x00-\x08\x0b\x0e-\x1f\x7f\u206a-\u206f\ufeff\ufff9-\ufffc]/g;

function fixC1Controls(text: string): string {
  return text.replace(C1_CONTROLS, (ch) => WINDOWS_1252_C1[ch.charCodeAt(0) - 0x80]);
}

function fixLineBreaks(text: string): string {
  return text.replace(/\r\n/g, '\n').replace(/[\r\u2028\u2029\u0085]/g, '\n');
}

/** One pass of ftfy's `fix_and_explain` loop body, minus `fix_encoding`. */
function fixOnce(text: string, unescapeHtml: boolean): string {
  let out = unescapeHtml ? ftfyUnescapeHtml(text) : text;
  out = fixC1Controls(out);
  out = out.replace(LATIN_LIGATURE_CHARS, (ch) => LATIN_LIGATURES[ch]);
  out = out.replace(WIDTH_CHARS, (ch) => CHARACTER_WIDTH.get(ch) ?? ch);
  out = out.replace(DOUBLE_QUOTES, '"').replace(SINGLE_QUOTES, "'");
  out = fixLineBreaks(out);
  out = out.replace(LONE_SURROGATE, '\ufffd');
  out = out.replace(TERMINAL_ESCAPE, '');
  out = out.replace(CONTROL_CHARS, '');
  return out.normalize('NFC');
}

/** Every character some fixer above may change; text without any (and already NFC) is left as it is. */
const FIXABLE = /[&\x00-\x08\x0b\x0d-\x1f\x7f-\x9f\u0132\u0133\u0149\u01c4-\u01cc\u01f1-\u01f3\u02bc\u2018-\u201f\u2028\u2029\u206a-\u206f\u3000\ud800-\udfff\ufb00-\ufb06\ufeff\uff01-\uffef\ufff9-\ufffc]/;

/** ftfy fixes each segment until a pass changes nothing (so nested entities unescape fully). */
function fixSegment(segment: string, unescapeHtml: boolean): string {
  if (!FIXABLE.test(segment) && segment.normalize('NFC') === segment) return segment;
  let text = segment;
  for (;;) {
    const fixed = fixOnce(text, unescapeHtml);
    if (fixed === text) return fixed;
    text = fixed;
  }
}

/** End (UTF-16 index) of the ftfy segment starting at `start`: after the next newline, at most 1M code points. */
function segmentEnd(text: string, start: number): number {
  const newline = text.indexOf('\n', start);
  const end = newline === -1 ? text.length : newline + 1;
  if (end - start <= MAX_SEGMENT_CODE_POINTS) return end; // UTF-16 length bounds the code-point count
  let index = start;
  for (let n = 0; n < MAX_SEGMENT_CODE_POINTS && index < end; n++) {
    index += (text.codePointAt(index) ?? 0) > 0xffff ? 2 : 1;
  }
  return Math.min(index, end);
}

/** ftfy.fix_text(text) with default settings, without mojibake repair. */
export function fixText(text: string): string {
  let out = '';
  // ftfy's "auto" HTML unescaping switches off at the first segment containing '<' and stays off
  // for the rest of the text (fix_text rebinds its config inside the loop).
  let unescapeHtml = true;
  for (let start = 0; start < text.length; ) {
    const end = segmentEnd(text, start);
    const segment = text.slice(start, end);
    if (unescapeHtml && segment.includes('<')) unescapeHtml = false;
    out += fixSegment(segment, unescapeHtml);
    start = end;
  }
  return out;
}

/** open_clip `basic_clean`: ftfy, then `html.unescape` twice, then strip. */
export function basicClean(text: string): string {
  return pythonStrip(pythonHtmlUnescape(pythonHtmlUnescape(fixText(text))));
}

/** open_clip `whitespace_clean`. */
export function whitespaceClean(text: string): string {
  return pythonCollapseWhitespace(text);
}

/** open_clip's default "lower" cleaning, the input of the word splitter. */
export function cleanText(text: string): string {
  return whitespaceClean(basicClean(text)).toLowerCase();
}
