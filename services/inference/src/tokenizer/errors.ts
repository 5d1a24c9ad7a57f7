export type TokenizerErrorCode = 'VOCABULARY_NOT_FOUND' | 'VOCABULARY_INVALID' | 'INVALID_CONTEXT_LENGTH' | 'INVALID_TEXT';

/**
 * The one error type of the tokenizer.
 * - VOCABULARY_NOT_FOUND: the merges file could not be read.
 * - VOCABULARY_INVALID: the file is not a gzip'd CLIP merges list of the expected size.
 * - INVALID_CONTEXT_LENGTH: the context length is not an integer ≥ 2 (room for sot and eot).
 * - INVALID_TEXT: an input is not a string.
 */
export class TokenizerError extends Error {
  override readonly name = 'TokenizerError';

  constructor(
    readonly code: TokenizerErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
