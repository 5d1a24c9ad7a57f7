import type { JobName, JobPayloads, Store } from "@arbor/store";
import type { InferenceClient } from "@arbor/inference/client.ts";
import type { TrainingConfig } from "./config.ts";
import type { Logger } from "./logger.ts";

/** What handlers may use: the store, the inference client, and the worker's settings. */
export interface JobDependencies {
  store: Store;
  inference: InferenceClient;
  config: Pick<TrainingConfig, "inferenceMaxTextsPerRequest" | "inferenceConcurrency">;
}

export interface HandlerContext {
  jobId: string;
  /** 1 on the first attempt. */
  attempt: number;
  maxAttempts: number;
  /** Progress saved by an earlier attempt ({} on the first): where to resume. */
  previousProgress: Record<string, unknown>;
  /** Aborted when the job is cancelled, reclaimed, or the worker shuts down: stop at the next checkpoint. */
  signal: AbortSignal;
  /** Carries jobId, job name, attempt and requestId. */
  log: Logger;
  /** Saves progress on the job row and refreshes its lock; throws JobLostError once the job is not ours. */
  saveProgress(progress: Record<string, unknown>): Promise<void>;
  deps: JobDependencies;
}

/** SUCCEEDED with a result, SKIPPED (nothing to do; recorded as succeeded), or FAILED. Thrown errors are failures too. */
export type JobOutcome =
  | { status: "succeeded"; result: Record<string, unknown> }
  | { status: "skipped"; reason: string; result?: Record<string, unknown> }
  | { status: "failed"; error: string; retryable: boolean };

export interface JobHandler<N extends JobName> {
  readonly name: N;
  run(payload: JobPayloads[N], context: HandlerContext): Promise<JobOutcome>;
}

export type AnyJobHandler = { [N in JobName]: JobHandler<N> }[JobName];
