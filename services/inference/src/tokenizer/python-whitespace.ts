/**
 * Python's notion of whitespace, which open_clip's cleaning relies on through `str.strip()` and
 * `str.split()`. It is wider than JavaScript's `trim()` (adds U+001C–U+001F and U+0085) and narrower
 * (excludes U+FEFF), so `trim()` and `/\s/` would tokenize some strings differently.
 */

/** Every code point but the space for which CPython's `str.isspace()` is true (checked with Python 3.11). */
const PY_WHITESPACE_BUT_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_WHITESPACE_CLASS = ` ${PY_WHITESPACE_BUT_SPACE}`;

/** What the `regex` package's `\s` matches in a Unicode pattern: `str.isspace()` less U+001C–U+001F. */
export const REGEX_WHITESPACE_CLASS = '\\t\\n\\v\\f\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';

const WHITESPACE_CHAR = new RegExp(`[${PY_WHITESPACE_CLASS}]`);
const RUNS = new RegExp(`[${PY_WHITESPACE_CLASS}]+`, 'g');
/** Anything but single plain spaces between words; without it (the common case) there is nothing to replace. */
const COLLAPSIBLE = new RegExp(`[${PY_WHITESPACE_BUT_SPACE}]|  `);

/** `str.strip()` with no argument. (A scan, not a `…+$` regex, which retries at every inner space.) */
export function pythonStrip(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && WHITESPACE_CHAR.test(text[start])) start++;
  while (end > start && WHITESPACE_CHAR.test(text[end - 1])) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

/** `" ".join(text.split())`: runs of whitespace become one space, none at either end. */
export function pythonCollapseWhitespace(text: string): string {
  const stripped = pythonStrip(text);
  return COLLAPSIBLE.test(stripped) ? stripped.replace(RUNS, ' ') : stripped;
}
