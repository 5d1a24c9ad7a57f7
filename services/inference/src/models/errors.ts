export type ModelPackageErrorCode =
  | 'MANIFEST_MISSING'
  | 'MANIFEST_NOT_JSON'
  | 'MANIFEST_INVALID'
  | 'FILE_MISSING'
  | 'FILE_SIZE_MISMATCH'
  | 'FILE_HASH_MISMATCH'
  | 'PRECISION_MISSING';

/** A model package that cannot be served; the message names the package directory and the problem. */
export class ModelPackageError extends Error {
  override readonly name = 'ModelPackageError';

  constructor(
    readonly code: ModelPackageErrorCode,
    readonly packageDir: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`model package ${packageDir}: ${message}`, options);
  }
}

/** The model is still loading (eager start-up); the caller should retry shortly. */
export class ModelNotReadyError extends Error {
  override readonly name = 'ModelNotReadyError';
  readonly code = 'MODEL_NOT_READY';

  constructor(
    readonly state: string,
    readonly retryAfterSeconds: number,
  ) {
    super(`the model is not loaded yet (${state}); retry in ${retryAfterSeconds} s`);
  }
}

function reason(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

/** Loading the model failed; `cause` holds why (often a ModelPackageError). */
export class ModelUnavailableError extends Error {
  override readonly name: string = 'ModelUnavailableError';
  readonly code = 'MODEL_UNAVAILABLE';

  constructor(
    readonly retryAfterSeconds: number,
    options: { cause: unknown },
    message = `the model failed to load: ${reason(options.cause)}`,
  ) {
    super(message, options);
  }
}

/**
 * An encoder could not run a batch: its session failed, or its worker thread died (the session is then
 * re-created). Every request of the batch gets it; like a failed load it is a 503 MODEL_UNAVAILABLE.
 */
export class EncoderUnavailableError extends ModelUnavailableError {
  override readonly name = 'EncoderUnavailableError';

  constructor(
    readonly encoder: 'image' | 'text',
    retryAfterSeconds: number,
    options: { cause: unknown },
  ) {
    super(retryAfterSeconds, options, `the ${encoder} encoder failed: ${reason(options.cause)}`);
  }
}
