import { mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { Progress } from "../lib/progress.ts";
import type { DatabaseActivity } from "./database-activity.ts";
import { runLoad } from "./load-generator.ts";
import { measure, type LoadSettings, type Measured } from "./measure.ts";
import { type CallFrame, inclusiveShare, loadProfile, summarizeProfile, type ProfileSummary } from "./profile.ts";
import { startFor, targetOf, type ServerSettings, type ServerSpec } from "./servers.ts";

export interface ServerProfile {
  server: string;
  path: string;
  /** The profiled run (the profiler slows the server: not comparable with the measured runs). */
  run: Measured;
  summary: ProfileSummary;
  /** Inclusive share of busy samples under named frames. */
  inclusive: Record<string, number>;
}

const fn = (name: string, urlPart: string) => (frame: CallFrame) => frame.functionName === name && frame.url.includes(urlPart);

// Frames whose inclusive time answers "how much of the request is X" for the GraphQL servers.
const GRAPHQL_PHASES: Record<string, (frame: CallFrame) => boolean> = {
  "express.json() body parsing": fn("jsonParser", "body-parser"),
  "Apollo processGraphQLRequest (whole GraphQL pipeline)": fn("processGraphQLRequest", "@apollo/server"),
  "graphql-js execute() (resolvers and value completion)": fn("execute", "graphql/execution/execute"),
  "complexity plugin (getComplexity, every request)": fn("getComplexity", "graphql-query-complexity"),
  "Apollo cache-control plugin (willResolveField, every field)": (frame) => frame.url.includes("@apollo/server/dist/esm/plugin/cacheControl"),
  "Apollo schema instrumentation (field.resolve wrapper)": fn("field.resolve", "schemaInstrumentation"),
  "type-graphql resolver wrappers": (frame) => frame.url.includes("type-graphql/build"),
  "DataLoader": (frame) => frame.url.includes("node_modules/dataloader/"),
  "createContext() (8 DataLoaders, pino child logger, uuid)": fn("createContext", "apps/api/src/context"),
  "pg: rows from the wire to objects (handleDataRow)": fn("handleDataRow", "node_modules/pg/"),
  "pg-types: value parsing (dates, arrays)": (frame) => /node_modules\/(pg-types|postgres-array|postgres-date)\//.test(frame.url),
  "response JSON.stringify (prettyJSONStringify)": fn("prettyJSONStringify", "@apollo/server"),
};

const RAW_PHASES: Record<string, (frame: CallFrame) => boolean> = {
  "pg: rows from the wire to objects (handleDataRow)": fn("handleDataRow", "node_modules/pg/"),
  "pg-types: value parsing (dates, arrays)": (frame) => /node_modules\/(pg-types|postgres-array|postgres-date)\//.test(frame.url),
};

/**
 * Restarts the server of `spec` under `node --cpu-prof`, warms it up, measures one run, stops it (the profile is
 * written at exit) and summarises the profile. Leaves no process running.
 */
export async function profileServer(
  spec: ServerSpec,
  settings: ServerSettings,
  load: LoadSettings & { warmupSeconds: number },
  database: DatabaseActivity,
  dir: string,
  progress: Progress,
): Promise<ServerProfile> {
  const profDir = join(dir, spec.id.replace(/[^\w.-]+/g, "_"));
  mkdirSync(profDir, { recursive: true });
  const server = await progress.step(`start ${spec.id} with --cpu-prof`, () => startFor(spec, settings, ["--cpu-prof", "--cpu-prof-dir", profDir]));
  let run: Measured;
  // Only the samples of the measured run: start-up (module compilation) and warm-up are left out.
  let window: { fromUs: number; toUs: number };
  try {
    const target = targetOf(spec, server);
    await runLoad(target, { ...load, durationSeconds: load.warmupSeconds });
    await database.waitUntilIdle(60_000);
    const fromUs = Number(process.hrtime.bigint() / 1000n);
    run = await progress.step(`profile ${spec.id} under load (${load.durationSeconds}s)`, () => measure(spec.id, server, target, 0, load, database));
    window = { fromUs, toUs: Number(process.hrtime.bigint() / 1000n) };
  } finally {
    await server.stop();
  }
  const file = readdirSync(profDir).find((name) => name.endsWith(".cpuprofile"));
  if (!file) throw new Error(`no .cpuprofile written in ${profDir}`);
  const profile = loadProfile(join(profDir, file));
  const phases = spec.kind === "graphql" || spec.kind === "graphql-prototype" ? GRAPHQL_PHASES : RAW_PHASES;
  return {
    server: spec.id,
    path: profile.path,
    run,
    summary: summarizeProfile(profile, window!),
    inclusive: Object.fromEntries(Object.entries(phases).map(([name, matches]) => [name, inclusiveShare(profile, matches, window!)])),
  };
}
