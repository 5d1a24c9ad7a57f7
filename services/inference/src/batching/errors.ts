/**
 * Admission errors of a bounded work queue. The HTTP layer maps both to a retryable status with a
 * Retry-After header: QueueFullError → 429, ShuttingDownError → 503.
 */
export class QueueFullError extends Error {
  override readonly name = 'QueueFullError';
  readonly code = 'QUEUE_FULL';

  constructor(
    /** Which queue refused the work, e.g. `image`, `text`, `preprocess`. */
    readonly queue: string,
    /** Items the refused request asked for. */
    readonly requested: number,
    /** Items already waiting. */
    readonly depth: number,
    readonly capacity: number,
    /** A hint for the caller, from the recent time it takes to work through the queue. */
    readonly retryAfterSeconds: number,
  ) {
    super(`${queue} queue is full (${depth} of ${capacity} waiting, ${requested} more asked); retry in ${retryAfterSeconds} s`);
  }
}

export class ShuttingDownError extends Error {
  override readonly name = 'ShuttingDownError';
  readonly code = 'SHUTTING_DOWN';

  constructor(readonly queue: string) {
    super(`${queue} queue is shutting down and accepts no new work`);
  }
}
