// The start-up check: every job name has exactly one handler (STYLE point 11).
import { describe, expect, it } from "vitest";
import { JOB_NAMES } from "@arbor/store/jobs.ts";
import { buildHandlerRegistry, HandlerRegistryError } from "../src/handler-registry.ts";
import { HANDLERS } from "../src/handlers/index.ts";
import type { AnyJobHandler } from "../src/job-handler.ts";

const fake = (name: string) => ({ name, run: async () => ({ status: "succeeded", result: {} }) }) as unknown as AnyJobHandler;

describe("handler registry", () => {
  it("accepts the worker's handlers: one per job name", () => {
    const registry = buildHandlerRegistry(HANDLERS);
    expect([...registry.keys()].sort()).toEqual([...JOB_NAMES].sort());
    for (const name of JOB_NAMES) expect(registry.get(name)!.name).toBe(name);
  });

  it("refuses to start when a job name has no handler", () => {
    const withoutImport = HANDLERS.filter((handler) => handler.name !== "import-text-embeddings");
    expect(() => buildHandlerRegistry(withoutImport)).toThrow(HandlerRegistryError);
    expect(() => buildHandlerRegistry(withoutImport)).toThrow('no handler for "import-text-embeddings"');
    expect(() => buildHandlerRegistry([])).toThrow(/no handler for "embed-taxa-text".*no handler for "import-text-embeddings"/);
  });

  it("refuses two handlers for one name, and a handler for an unknown name", () => {
    let error: HandlerRegistryError | undefined;
    try {
      buildHandlerRegistry([...HANDLERS, fake("embed-taxa-text"), fake("retrain-adapter")]);
    } catch (caught) {
      error = caught as HandlerRegistryError;
    }
    expect(error?.problems).toEqual(['more than one handler for "embed-taxa-text"', 'handler for unknown job "retrain-adapter"']);
  });

  it("checks against the job names it is given (a newly added name without handler fails)", () => {
    expect(() => buildHandlerRegistry(HANDLERS, [...JOB_NAMES, "evaluate-model"])).toThrow('no handler for "evaluate-model"');
  });
});
