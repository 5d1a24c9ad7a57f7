// The job names and their payloads: the contract between whoever enqueues (CLI, api) and the
// training worker, whose handlers are checked against JOB_NAMES at start-up (one handler each).
// The queue itself is repositories/job.repository.ts.
import { TAXON_RANKS, type TaxonRank } from "./importers/ranks.ts";

export const JOB_NAMES = ["embed-taxa-text", "import-text-embeddings"] as const;
export type JobName = (typeof JOB_NAMES)[number];

/** Fields every payload may carry. */
export interface CommonJobPayload {
  /** The request that caused the job (api → job → inference), stamped on its log lines. */
  requestId?: string;
}

/**
 * Computes the text embedding of every taxon of one rank that has none yet for a model version:
 * the lineage label (+ " with common name X") in the 80 OpenAI templates, through the inference
 * service's text encoder, normalised, averaged, renormalised.
 */
export interface EmbedTaxaTextPayload extends CommonJobPayload {
  modelVersionId: number;
  /** Default "species". */
  rank?: TaxonRank;
  /** Only this taxon and its descendants. */
  rootTaxonId?: number;
  /** Taxa per inference round trip and per progress checkpoint. */
  batchSize?: number;
}

/**
 * Imports the official BioCLIP 2 species text embeddings (txt_emb_species.npy [768, N] +
 * txt_emb_species.json), creating the lineage taxa they name.
 */
export interface ImportTextEmbeddingsPayload extends CommonJobPayload {
  /** Absolute paths, readable by the worker. */
  npyPath: string;
  jsonPath: string;
  /** "name@version", e.g. "bioclip-2@1"; created when missing. */
  modelVersion: string;
  /** Species rows per transaction and checkpoint. */
  batchSize?: number;
  /** Bad rows to skip and report before aborting (default 0). */
  maxErrors?: number;
  /** Import again files that were imported completely. */
  force?: boolean;
  /** Source recorded for the lineage taxa's names (default "treeoflife-200m"). */
  source?: string;
}

export interface JobPayloads {
  "embed-taxa-text": EmbedTaxaTextPayload;
  "import-text-embeddings": ImportTextEmbeddingsPayload;
}

export type JobPayload<N extends JobName = JobName> = JobPayloads[N];

export type PayloadFieldType = "string" | "positive-int" | "non-negative-int" | "boolean" | "rank" | "model-ref";

export interface PayloadFieldSpec {
  type: PayloadFieldType;
  required?: boolean;
  description: string;
}

export interface JobDefinition<N extends JobName> {
  description: string;
  /** Attempts before the job is marked failed (a crashed worker's attempt counts). */
  maxAttempts: number;
  /** Every payload field, so that types, validation and CLI flags cannot drift apart. */
  fields: { [K in keyof Required<JobPayloads[N]>]: PayloadFieldSpec };
}

const REQUEST_ID: PayloadFieldSpec = { type: "string", description: "request id stamped on the job's log lines and inference calls" };

export const JOB_DEFINITIONS: { [N in JobName]: JobDefinition<N> } = {
  "embed-taxa-text": {
    description: "text embeddings (80 templates, averaged) of taxa lacking one, through the inference service",
    maxAttempts: 5,
    fields: {
      modelVersionId: { type: "positive-int", required: true, description: "model version the inference service serves" },
      rank: { type: "rank", description: "rank of the taxa to embed (default species)" },
      rootTaxonId: { type: "positive-int", description: "only this taxon's subtree" },
      batchSize: { type: "positive-int", description: "taxa per batch and progress checkpoint (default 16)" },
      requestId: REQUEST_ID,
    },
  },
  "import-text-embeddings": {
    description: "import the official BioCLIP 2 txt_emb_species.npy/.json files (streamed, checkpointed)",
    maxAttempts: 3,
    fields: {
      npyPath: { type: "string", required: true, description: "txt_emb_species.npy, float32 [768, N]" },
      jsonPath: { type: "string", required: true, description: "txt_emb_species.json, [[7 names], common name] rows" },
      modelVersion: { type: "model-ref", required: true, description: "name@version of the model version (created when missing)" },
      batchSize: { type: "positive-int", description: "species rows per transaction (default 1000)" },
      maxErrors: { type: "non-negative-int", description: "bad rows to skip before aborting (default 0)" },
      force: { type: "boolean", description: "import again files imported completely" },
      source: { type: "string", description: "source of the lineage names (default treeoflife-200m)" },
      requestId: REQUEST_ID,
    },
  },
};

export class JobPayloadError extends Error {
  constructor(
    readonly jobName: string,
    readonly problems: readonly string[],
  ) {
    super(`invalid payload for job "${jobName}": ${problems.join("; ")}`);
    this.name = "JobPayloadError";
  }
}

export function isJobName(value: string): value is JobName {
  return (JOB_NAMES as readonly string[]).includes(value);
}

const RANK_SET: ReadonlySet<string> = new Set(TAXON_RANKS);

/** Checks a payload against its job's field list; unknown fields are refused. */
export function parseJobPayload<N extends JobName>(name: N, value: unknown): JobPayloads[N] {
  const fields = JOB_DEFINITIONS[name].fields as Record<string, PayloadFieldSpec>;
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new JobPayloadError(name, ["the payload is not an object"]);
  const problems: string[] = [];
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!(key in fields)) problems.push(`unknown field "${key}"`);
  }
  for (const [key, spec] of Object.entries(fields)) {
    const field = record[key];
    if (field === undefined) {
      if (spec.required) problems.push(`"${key}" is required`);
      continue;
    }
    const problem = checkField(spec.type, field);
    if (problem) problems.push(`"${key}" ${problem}`);
  }
  if (problems.length > 0) throw new JobPayloadError(name, problems);
  return record as unknown as JobPayloads[N];
}

function checkField(type: PayloadFieldType, value: unknown): string | null {
  switch (type) {
    case "string":
      return typeof value === "string" && value.trim() !== "" ? null : "must be a non-empty string";
    case "positive-int":
      return Number.isSafeInteger(value) && (value as number) > 0 ? null : "must be a positive integer";
    case "non-negative-int":
      return Number.isSafeInteger(value) && (value as number) >= 0 ? null : "must be a non-negative integer";
    case "boolean":
      return typeof value === "boolean" ? null : "must be true or false";
    case "rank":
      return typeof value === "string" && RANK_SET.has(value) ? null : `must be one of ${TAXON_RANKS.join(", ")}`;
    case "model-ref": {
      if (typeof value !== "string") return "must be name@version";
      const at = value.lastIndexOf("@");
      return at > 0 && at < value.length - 1 ? null : "must be name@version (e.g. bioclip-2@1)";
    }
  }
}
