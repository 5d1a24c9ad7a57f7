import { StringDecoder } from 'node:string_decoder';

/**
 * The lines of a UTF-8 byte stream, split at '\n' only: no other character (a lone '\r', U+2028, U+0085) ends a
 * line, so each line reaches the tokenizer exactly as written (a '\r' of a CRLF file stays, as Python's
 * `sys.stdin` with newline='\n' would keep it; the tokenizer's whitespace cleanup drops it). A final newline does
 * not start another line; an empty input has no lines. Invalid UTF-8 becomes U+FFFD.
 */
export async function* readLines(input: AsyncIterable<Buffer | string>): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  for await (const chunk of input) {
    pending += typeof chunk === 'string' ? chunk : decoder.write(chunk);
    let start = 0;
    for (let newline = pending.indexOf('\n'); newline !== -1; newline = pending.indexOf('\n', start)) {
      yield pending.slice(start, newline);
      start = newline + 1;
    }
    pending = pending.slice(start);
  }
  pending += decoder.end();
  if (pending.length > 0) yield pending;
}
