/** The species catalog is not usable yet (being built) or could not be built; answered 503 with Retry-After. */
export class ClassifierNotReadyError extends Error {
  override readonly name = 'ClassifierNotReadyError';

  constructor(
    readonly state: 'loading' | 'failed',
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}
