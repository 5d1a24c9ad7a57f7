export {
  ClipTokenizer,
  CONTEXT_LENGTH,
  DEFAULT_VOCAB_PATH,
  EOT_TOKEN_ID,
  eotIndex,
  SOT_TOKEN_ID,
  type TokenBatch,
} from './clip-tokenizer.ts';
export { DEFAULT_MAX_CACHE_ENTRIES, VOCAB_SIZE, type BpeCacheOptions } from './bpe.ts';
export { cleanText, fixText } from './clean-text.ts';
export { TokenizerError, type TokenizerErrorCode } from './errors.ts';
