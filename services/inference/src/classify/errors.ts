export type ClassifyErrorCode =
  | 'DIMENSION_MISMATCH'
  | 'NON_FINITE'
  | 'ZERO_VECTOR'
  | 'NOT_UNIT'
  | 'EMPTY_CANDIDATES'
  | 'UNKNOWN_RANK'
  | 'UNKNOWN_TAXON'
  | 'INVALID_LINEAGE'
  | 'INVALID_OPTION'
  | 'INVALID_NPY'
  | 'INVALID_LABEL_FILE'
  | 'FILE_MISMATCH';

/**
 * The one error type of the classification layer and of the official-embeddings readers.
 * - DIMENSION_MISMATCH: an embedding's length differs from the index dimension (or a file's shape is not [dim, N]).
 * - NON_FINITE: an embedding holds NaN or ±Infinity.
 * - ZERO_VECTOR: an image or label embedding has norm 0, so it has no direction.
 * - NOT_UNIT: a species embedding given as unit length is not (and renormalising was not asked for).
 * - EMPTY_CANDIDATES: no species/labels to choose from (empty index, subset or label list).
 * - UNKNOWN_RANK: a rank name outside kingdom … species.
 * - UNKNOWN_TAXON: a subset names a taxon or species the index does not hold.
 * - INVALID_LINEAGE: a lineage that is not 7 strings.
 * - INVALID_OPTION: k, threshold, logit scale, bins, etc. out of range.
 * - INVALID_NPY: not a readable float32 .npy file (magic, version, header, dtype, order, size).
 * - INVALID_LABEL_FILE: the species JSON is not `[[[7 strings], "common name"], …]`.
 * - FILE_MISMATCH: the .npy and the JSON do not describe the same species.
 */
export class ClassifyError extends Error {
  override readonly name = 'ClassifyError';

  constructor(
    readonly code: ClassifyErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
