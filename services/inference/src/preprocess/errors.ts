export type ImagePreprocessErrorCode = 'UNSUPPORTED_IMAGE' | 'IMAGE_TOO_LARGE' | 'CORRUPT_IMAGE';

/**
 * The one error type of image preprocessing.
 * - UNSUPPORTED_IMAGE: the bytes are not an image in a format we decode (includes empty input).
 * - IMAGE_TOO_LARGE: the byte size or the declared pixel count exceeds the configured limit.
 * - CORRUPT_IMAGE: a recognised format whose data is malformed or truncated.
 */
export class ImagePreprocessError extends Error {
  override readonly name = 'ImagePreprocessError';

  constructor(
    readonly code: ImagePreprocessErrorCode,
    message: string,
    /** Position of the offending image when raised by a batch call. */
    readonly index?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  withIndex(index: number): ImagePreprocessError {
    return new ImagePreprocessError(this.code, `image ${index}: ${this.message}`, index, { cause: this.cause });
  }
}
