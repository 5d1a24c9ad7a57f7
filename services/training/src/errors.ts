import { ImportAbortedError, ImportFileError, ImportUsageError, JobPayloadError } from "@arbor/store";
import { InferenceClientError } from "@arbor/inference/client.ts";
import { ClassifyError } from "@arbor/inference/classify/errors.ts";

/** The job cannot succeed as asked (bad input, wrong model): retrying would only fail again. */
export class PermanentJobError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "PermanentJobError";
  }
}

/** The worker no longer owns the job: it was cancelled, or reclaimed after missed heartbeats. */
export class JobLostError extends Error {
  constructor(readonly jobId: string) {
    super(`job ${jobId} is no longer owned by this worker (cancelled, or reclaimed after missed heartbeats)`);
    this.name = "JobLostError";
  }
}

/** Abort reason when the worker stops: the job is put back in the queue, its attempt not counted. */
export class WorkerShutdownError extends Error {
  constructor() {
    super("the worker is shutting down");
    this.name = "WorkerShutdownError";
  }
}

// Inference answers that the same request would get again.
const PERMANENT_INFERENCE_CODES = new Set(["INVALID_JSON", "UNSUPPORTED_MEDIA_TYPE", "INVALID_REQUEST", "TOO_MANY_ITEMS", "TEXT_TOO_LONG", "BODY_TOO_LARGE", "NOT_FOUND"]);

/** Whether a failed attempt is worth another: outages and overload are, bad input and wrong files are not. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof PermanentJobError || error instanceof JobPayloadError) return false;
  if (error instanceof ImportAbortedError || error instanceof ImportFileError || error instanceof ImportUsageError) return false;
  if (error instanceof ClassifyError) return false;
  if (error instanceof InferenceClientError) return !PERMANENT_INFERENCE_CODES.has(error.code);
  return true;
}
