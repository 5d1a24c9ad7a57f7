// Job payload validation (services/store jobs.ts) and the CLI flags derived from it.
import { describe, expect, it } from "vitest";
import { JOB_DEFINITIONS, JOB_NAMES, JobPayloadError, parseJobPayload } from "@arbor/store/jobs.ts";
import { payloadFromFlags, UsageError } from "../src/cli/payload-flags.ts";

describe("parseJobPayload", () => {
  it("accepts complete and minimal payloads", () => {
    const full = { modelVersionId: 3, rank: "genus", rootTaxonId: 12, batchSize: 8, requestId: "r-1" };
    expect(parseJobPayload("embed-taxa-text", full)).toEqual(full);
    expect(parseJobPayload("embed-taxa-text", { modelVersionId: 3 })).toEqual({ modelVersionId: 3 });
    const importer = { npyPath: "/d/txt_emb_species.npy", jsonPath: "/d/txt_emb_species.json", modelVersion: "bioclip-2@1", force: true, maxErrors: 0 };
    expect(parseJobPayload("import-text-embeddings", importer)).toEqual(importer);
  });

  it("lists every problem: missing, mistyped and unknown fields", () => {
    let error: JobPayloadError | undefined;
    try {
      parseJobPayload("embed-taxa-text", { rank: "clade", batchSize: 0, modelVersion: "x@1" });
    } catch (caught) {
      error = caught as JobPayloadError;
    }
    expect(error).toBeInstanceOf(JobPayloadError);
    expect(error!.problems).toEqual([
      'unknown field "modelVersion"',
      '"modelVersionId" is required',
      expect.stringMatching(/^"rank" must be one of kingdom, .*species/),
      '"batchSize" must be a positive integer',
    ]);
    expect(() => parseJobPayload("import-text-embeddings", { npyPath: "a", jsonPath: "b", modelVersion: "bioclip-2" })).toThrow('"modelVersion" must be name@version');
    expect(() => parseJobPayload("import-text-embeddings", [])).toThrow("not an object");
  });

  it("defines attempts and a description for every job name", () => {
    for (const name of JOB_NAMES) {
      expect(JOB_DEFINITIONS[name].maxAttempts).toBeGreaterThan(0);
      expect(JOB_DEFINITIONS[name].description.length).toBeGreaterThan(10);
    }
  });
});

describe("payload flags", () => {
  it("maps flags onto fields, typed, with absolute paths", () => {
    expect(payloadFromFlags("import-text-embeddings", { npy: "fixtures/a.npy", json: "/abs/a.json", model: "bioclip-2@1", "batch-size": "500", force: true })).toEqual({
      npyPath: `${process.cwd()}/fixtures/a.npy`,
      jsonPath: "/abs/a.json",
      modelVersion: "bioclip-2@1",
      batchSize: 500,
      force: true,
    });
    expect(payloadFromFlags("embed-taxa-text", { "model-version-id": "2", "root-taxon-id": "40", rank: "species" })).toEqual({ modelVersionId: 2, rootTaxonId: 40, rank: "species" });
    expect(() => payloadFromFlags("embed-taxa-text", { "batch-size": "lots" })).toThrow(UsageError);
  });
});
