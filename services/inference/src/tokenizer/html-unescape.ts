/**
 * The two HTML unescapers open_clip's cleaning runs: Python's `html.unescape` (applied twice after
 * ftfy) and ftfy's own `unescape_html` (inside `fix_text`). Named references are looked up in the
 * WHATWG table through the `entities` package; the surrounding rules are Python's, which differ from
 * the WHATWG decoder on numeric references (Python drops control and non-character code points).
 */
import { DecodingMode, decodeHTML, decodeHTMLStrict } from 'entities';

/** Python's `html._charref`: decimal, hexadecimal, or up to 32 name characters, each with an optional `;`. */
const PYTHON_CHARREF = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/gu;

/** Windows-1252 readings of the C1 range, plus NUL and CR, as in Python's `html._invalid_charrefs`. */
const INVALID_CHARREFS = new Map<number, string>([
  [0x00, '\ufffd'], [0x0d, '\r'],
  [0x80, '\u20ac'], [0x81, '\x81'], [0x82, '\u201a'], [0x83, '\u0192'], [0x84, '\u201e'], [0x85, '\u2026'],
  [0x86, '\u2020'], [0x87, '\u2021'], [0x88, '\u02c6'], [0x89, '\u2030'], [0x8a, '\u0160'], [0x8b, '\u2039'],
  [0x8c, '\u0152'], [0x8d, '\x8d'], [0x8e, '\u017d'], [0x8f, '\x8f'], [0x90, '\x90'], [0x91, '\u2018'],
  [0x92, '\u2019'], [0x93, '\u201c'], [0x94, '\u201d'], [0x95, '\u2022'], [0x96, '\u2013'], [0x97, '\u2014'],
  [0x98, '\u02dc'], [0x99, '\u2122'], [0x9a, '\u0161'], [0x9b, '\u203a'], [0x9c, '\u0153'], [0x9d, '\x9d'],
  [0x9e, '\u017e'], [0x9f, '\u0178'],
]);

/** Code points Python's `html.unescape` deletes (`html._invalid_codepoints`). */
function isDroppedCodePoint(cp: number): boolean {
  return (
    (cp >= 0x01 && cp <= 0x08) ||
    cp === 0x0b ||
    (cp >= 0x0e && cp <= 0x1f) ||
    (cp >= 0x7f && cp <= 0x9f) ||
    (cp >= 0xfdd0 && cp <= 0xfdef) ||
    (cp & 0xfffe) === 0xfffe // U+xFFFE and U+xFFFF in every plane
  );
}

function decodeNumericReference(ref: string): string {
  const hex = ref[1] === 'x' || ref[1] === 'X';
  const digits = ref.slice(hex ? 2 : 1).replace(/;$/, '');
  // parseInt of a very long digit string gives a huge number or Infinity: both fall in the > 0x10FFFF branch.
  const cp = parseInt(digits, hex ? 16 : 10);
  const replacement = INVALID_CHARREFS.get(cp);
  if (replacement !== undefined) return replacement;
  if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return '\ufffd';
  if (isDroppedCodePoint(cp)) return '';
  return String.fromCodePoint(cp);
}

/**
 * Python's `html.unescape`. For a name, Python takes the whole reference if it is in the table and
 * otherwise the longest legacy (semicolon-less) prefix; the WHATWG text-mode decoder makes the same
 * choice, and the name holds no `&`, so decoding `&name` alone gives Python's replacement.
 */
export function pythonHtmlUnescape(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(PYTHON_CHARREF, (_match, ref: string) =>
    ref[0] === '#' ? decodeNumericReference(ref) : decodeHTML(`&${ref}`, DecodingMode.Legacy),
  );
}

/** ftfy's `HTML_ENTITY_RE`: only references closed by a semicolon. */
const FTFY_ENTITY = /&#?[0-9A-Za-z]{1,24};/g;

/**
 * The replacement ftfy's table gives a named reference, if any: every semicolon-terminated HTML5 name,
 * and, for an all-lower-case name, its upper-cased spelling decoding to the upper-cased value when
 * Python's `html.unescape` leaves that spelling alone (so `&EACUTE;` → `É`, `&SZLIG;` → `SS`).
 */
function ftfyNamedReference(reference: string): string | undefined {
  const decoded = decodeHTMLStrict(reference);
  if (decoded !== reference) return decoded;
  const name = reference.slice(1, -1);
  const lower = name.toLowerCase();
  if (lower === name || lower.toUpperCase() !== name) return undefined;
  const lowerReference = `&${lower};`;
  const lowerDecoded = decodeHTMLStrict(lowerReference);
  if (lowerDecoded === lowerReference) return undefined;
  if (pythonHtmlUnescape(reference) !== reference) return undefined;
  return lowerDecoded.toUpperCase();
}

/** ftfy's `fixes.unescape_html`. */
export function ftfyUnescapeHtml(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(FTFY_ENTITY, (reference) => {
    if (reference[1] !== '#') return ftfyNamedReference(reference) ?? reference;
    const unescaped = pythonHtmlUnescape(reference);
    // Only a reference decoded up to and including its semicolon counts (so `&#59;` stays as it is).
    return unescaped.includes(';') ? reference : unescaped;
  });
}
