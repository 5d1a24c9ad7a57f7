import { JOB_NAMES, type JobName } from "@arbor/store/jobs.ts";
import type { AnyJobHandler } from "./job-handler.ts";

export class HandlerRegistryError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`job handlers do not match the job names: ${problems.join("; ")}`);
    this.name = "HandlerRegistryError";
  }
}

export type HandlerRegistry = ReadonlyMap<JobName, AnyJobHandler>;

/**
 * The start-up check: every job name has exactly one handler, and every handler a known name.
 * A worker that would leave a job name unhandled refuses to start instead of letting such jobs
 * wait forever.
 */
export function buildHandlerRegistry(handlers: readonly AnyJobHandler[], jobNames: readonly string[] = JOB_NAMES): HandlerRegistry {
  const problems: string[] = [];
  const registry = new Map<JobName, AnyJobHandler>();
  for (const handler of handlers) {
    if (!jobNames.includes(handler.name)) problems.push(`handler for unknown job "${handler.name}"`);
    else if (registry.has(handler.name)) problems.push(`more than one handler for "${handler.name}"`);
    else registry.set(handler.name, handler);
  }
  for (const name of jobNames) {
    if (!registry.has(name as JobName)) problems.push(`no handler for "${name}"`);
  }
  if (problems.length > 0) throw new HandlerRegistryError(problems);
  return registry;
}
