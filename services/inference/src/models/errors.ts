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

/** Loading the model failed; `cause` holds why (often a ModelPackageError). */
export class ModelUnavailableError extends Error {
  override readonly name = 'ModelUnavailableError';
  readonly code = 'MODEL_UNAVAILABLE';

  constructor(readonly retryAfterSeconds: number, options: { cause: unknown }) {
    super(`the model failed to load: ${options.cause instanceof Error ? options.cause.message : String(options.cause)}`, options);
  }
}
