import { resolve } from "node:path";
import { JOB_DEFINITIONS, type JobName, type PayloadFieldSpec } from "@arbor/store/jobs.ts";

/** A command-line flag that sets one payload field. */
export interface PayloadFlag {
  flag: string;
  field: string;
  spec: PayloadFieldSpec;
  /** A file path: made absolute, since the worker may run elsewhere. */
  isPath: boolean;
}

// Shorter spellings for the fields people type most.
const ALIASES: Partial<Record<JobName, Record<string, string>>> = {
  "import-text-embeddings": { npyPath: "npy", jsonPath: "json", modelVersion: "model" },
};
const PATH_FIELDS = new Set(["npyPath", "jsonPath"]);

export class UsageError extends Error {
  override readonly name = "UsageError";
}

const kebab = (name: string) => name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);

/** The flags of a job's payload, derived from its field list in jobs.ts. */
export function payloadFlags(name: JobName): PayloadFlag[] {
  return Object.entries(JOB_DEFINITIONS[name].fields as Record<string, PayloadFieldSpec>).map(([field, spec]) => ({
    flag: ALIASES[name]?.[field] ?? kebab(field),
    field,
    spec,
    isPath: PATH_FIELDS.has(field),
  }));
}

/** Every payload flag of every job, for the argument parser (booleans take no value). */
export function allPayloadFlagTypes(): Record<string, { type: "string" | "boolean" }> {
  const options: Record<string, { type: "string" | "boolean" }> = {};
  for (const name of Object.keys(JOB_DEFINITIONS) as JobName[]) {
    for (const { flag, spec } of payloadFlags(name)) options[flag] = { type: spec.type === "boolean" ? "boolean" : "string" };
  }
  return options;
}

/** Builds a payload from parsed flags (checked afterwards by parseJobPayload). */
export function payloadFromFlags(name: JobName, values: Record<string, string | boolean | undefined>): Record<string, unknown> {
  const payload: Record<string, unknown> = {};
  for (const { flag, field, spec, isPath } of payloadFlags(name)) {
    const value = values[flag];
    if (value === undefined) continue;
    if (spec.type === "boolean") payload[field] = value === true;
    else if (spec.type === "positive-int" || spec.type === "non-negative-int") {
      const number = Number(value);
      if (typeof value !== "string" || value.trim() === "" || !Number.isSafeInteger(number)) throw new UsageError(`--${flag} must be an integer, got "${String(value)}"`);
      payload[field] = number;
    } else payload[field] = isPath ? resolve(String(value)) : String(value);
  }
  return payload;
}

/** The usage lines of one job's payload flags. */
export function describePayloadFlags(name: JobName): string[] {
  return payloadFlags(name).map(({ flag, spec, isPath }) => {
    const value = spec.type === "boolean" ? "" : isPath ? " FILE" : spec.type === "model-ref" ? " NAME@VERSION" : spec.type === "rank" ? " RANK" : spec.type.endsWith("int") ? " N" : " VALUE";
    return `    --${`${flag}${value}`.padEnd(28)} ${spec.required ? "(required) " : ""}${spec.description}`;
  });
}
