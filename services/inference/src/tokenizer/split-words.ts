/**
 * CLIP's pre-tokenizer: the special tokens, English contractions, runs of letters, single digits,
 * runs of anything else that is neither whitespace nor a letter or digit.
 */
import { EOT_TOKEN, SOT_TOKEN } from './bpe.ts';
import { REGEX_WHITESPACE_CLASS } from './python-whitespace.ts';

// The Python pattern is compiled with IGNORECASE by the `regex` package, which folds case simply, as
// JavaScript's /iu does (so `'ſ` matches `'s`). Two spots where the engines part:
// - `\s` is spelled out because JavaScript's `\s` also matches U+FEFF, which the `regex` package's does not;
// - U+0345 (combining ypogegrammeni, folds to ι): JavaScript's case-insensitive `\p{L}` matches it, the
//   `regex` package's matches neither it nor the negated class, so Python drops it and splits the word there.
const WORD_PATTERN = new RegExp(
  `${SOT_TOKEN}|${EOT_TOKEN}|'s|'t|'re|'ve|'m|'ll|'d|(?:(?!\\u0345)\\p{L})+|\\p{N}|[^${REGEX_WHITESPACE_CLASS}\\p{L}\\p{N}]+`,
  'giu',
);

export function splitWords(cleanedText: string): string[] {
  return cleanedText.match(WORD_PATTERN) ?? [];
}
