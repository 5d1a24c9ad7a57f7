import { readFileSync } from "node:fs";

/**
 * Where a server's CPU time goes, from a V8 `.cpuprofile` (node --cpu-prof): self time by
 * component (graphql-js by phase, type-graphql, DataLoader, pg by layer, Apollo, express, JSON,
 * GC, …) and the hottest functions. Built-in functions without a script (JSON.parse, Array
 * methods, …) are charged to their caller's component, except JSON, which is its own line.
 *
 * Shares are of SAMPLE COUNTS, not of the samples' time deltas: V8's sampler signals the thread
 * every interval of wall time, and a thread that was descheduled (2 busy cores, four busy
 * processes) takes one late sample whose delta covers the time it did not run — charged to
 * whatever it resumed in, mostly the writev of a socket write that woke another process. Counts
 * follow CPU time; the caller scales them with the process's CPU time measured from /proc.
 */

export interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const COMPONENTS: ReadonlyArray<[RegExp, string]> = [
  [/node_modules\/graphql\/execution\//, "graphql-js execute (resolve tree, complete values)"],
  [/node_modules\/graphql\/validation\//, "graphql-js validation"],
  [/node_modules\/graphql\/language\//, "graphql-js parse/print/visit"],
  [/node_modules\/graphql\/(type|utilities|jsutils)\//, "graphql-js types/utilities"],
  [/node_modules\/graphql\//, "graphql-js other"],
  [/node_modules\/type-graphql\//, "type-graphql (resolver wrappers, args → class instances)"],
  [/node_modules\/graphql-query-complexity\//, "graphql-query-complexity (per request)"],
  [/node_modules\/graphql-depth-limit\//, "graphql-depth-limit"],
  [/node_modules\/graphql-scalars\//, "graphql-scalars"],
  [/node_modules\/dataloader\//, "DataLoader"],
  [/node_modules\/pg-protocol\//, "pg-protocol (wire parsing)"],
  [/node_modules\/pg-types\/|node_modules\/postgres-(array|date|interval|bytea)\//, "pg-types (value parsing)"],
  [/node_modules\/pg-pool\//, "pg-pool"],
  [/node_modules\/pg\//, "pg client (queries, rows → objects)"],
  [/node_modules\/@apollo\/|node_modules\/@as-integrations\//, "Apollo Server"],
  [/node_modules\/(express|router|body-parser|raw-body|type-is|content-type|finalhandler|send|accepts|negotiator|mime-types|mime-db|qs|iconv-lite|on-finished|statuses|http-errors|depd|cookie|vary|parseurl|proxy-addr|media-typer)\//, "express and middleware"],
  [/node_modules\/(pino|pino-std-serializers|sonic-boom|thread-stream|fast-redact|quick-format-unescaped|safe-stable-stringify|atomic-sleep|on-exit-leak-free)\//, "pino (logger)"],
  [/node_modules\/(lru-cache|@graphql-tools|graphql-tag|whatwg-mimetype|negotiator|uuid)\//, "Apollo dependencies"],
  [/node_modules\//, "other node_modules"],
  [/apps\/api\/src\//, "apps/api code (resolvers, loaders, context)"],
  [/services\/store\/src\//, "services/store code (repositories)"],
  [/test\/bench\//, "bench code (raw handler, prototypes)"],
  [/^node:internal\/(http|_http|streams|net|stream_base|dns|tls)|^node:(http|_http|net|stream)|^node:internal\/(deps\/undici|child_process)/, "Node http/net/streams"],
  [/^node:/, "Node core other"],
];

export interface ComponentShare {
  component: string;
  samples: number;
  /** Of the non-idle samples. */
  share: number;
}

export interface HotFunction {
  name: string;
  where: string;
  component: string;
  samples: number;
  share: number;
}

export interface LoadedProfile {
  path: string;
  profile: CpuProfile;
  byId: Map<number, ProfileNode>;
  parentOf: Map<number, number>;
}

export interface ProfileSummary {
  samples: number;
  busySamples: number;
  wallMs: number;
  components: ComponentShare[];
  hotFunctions: HotFunction[];
}

function componentOfUrl(url: string): string | null {
  if (!url) return null;
  for (const [pattern, name] of COMPONENTS) if (pattern.test(url)) return name;
  return "other scripts";
}

function shortWhere(frame: CallFrame): string {
  const url = frame.url.replace(/^file:\/\//, "");
  const inModules = url.lastIndexOf("node_modules/");
  const path = inModules >= 0 ? url.slice(inModules + "node_modules/".length) : url.replace(/^.*\/(apps|services|test)\//, "$1/");
  return path ? `${path}:${frame.lineNumber + 1}` : "(native)";
}

export function loadProfile(path: string): LoadedProfile {
  const profile = JSON.parse(readFileSync(path, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  return { path, profile, byId, parentOf };
}

const isIdle = (frame: CallFrame) => frame.functionName === "(idle)";

/**
 * Socket writes (the writev syscall). On a busy machine the thread is often descheduled when a
 * write wakes the process that reads it, and the one late sample taken on resume lands here, so
 * this component's sample share overstates its CPU; its real cost is within the system CPU time.
 */
export const SOCKET_WRITES = "socket writes (writev syscall)";

/**
 * Indexes of the samples taken within [fromUs, toUs] (µs of the monotonic clock, the clock of
 * process.hrtime and of V8's profile timestamps), so start-up and warm-up are left out.
 */
export function samplesWithin({ profile }: LoadedProfile, window?: { fromUs: number; toUs: number }): number[] {
  const out: number[] = [];
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    if (!window || (t >= window.fromUs && t <= window.toUs)) out.push(i);
  }
  return out;
}

export function summarizeProfile(loaded: LoadedProfile, window?: { fromUs: number; toUs: number }, topFunctions = 25): ProfileSummary {
  const { profile, byId, parentOf } = loaded;
  const indexes = samplesWithin(loaded, window);
  const componentCache = new Map<number, string>();
  const componentOf = (id: number): string => {
    const cached = componentCache.get(id);
    if (cached) return cached;
    const frame = byId.get(id)!.callFrame;
    let component: string;
    if (frame.functionName === "(garbage collector)") component = "GC";
    else if (isIdle(frame)) component = "(idle)";
    else if (frame.functionName === "(program)") component = "V8/native (program)";
    else if (frame.functionName === "(root)") component = "(root)";
    else if (!frame.url && /^(stringify|parse)$/.test(frame.functionName)) component = "JSON.stringify/parse";
    else if (!frame.url && frame.functionName === "writev") component = SOCKET_WRITES;
    else {
      const own = componentOfUrl(frame.url);
      const parent = parentOf.get(id);
      component = own ?? (parent !== undefined ? componentOf(parent) : "V8/native (program)");
    }
    componentCache.set(id, component);
    return component;
  };

  const selfSamples = new Map<number, number>();
  for (const i of indexes) {
    const id = profile.samples[i]!;
    selfSamples.set(id, (selfSamples.get(id) ?? 0) + 1);
  }

  const components = new Map<string, number>();
  const functions = new Map<string, HotFunction>();
  let busy = 0;
  for (const [id, count] of selfSamples) {
    const component = componentOf(id);
    if (component === "(idle)") continue;
    busy += count;
    components.set(component, (components.get(component) ?? 0) + count);
    const frame = byId.get(id)!.callFrame;
    const key = `${frame.functionName}@${frame.url}:${frame.lineNumber}`;
    const entry = functions.get(key) ?? { name: frame.functionName || "(anonymous)", where: shortWhere(frame), component, samples: 0, share: 0 };
    entry.samples += count;
    functions.set(key, entry);
  }
  return {
    samples: indexes.length,
    busySamples: busy,
    wallMs: window ? (window.toUs - window.fromUs) / 1000 : (profile.endTime - profile.startTime) / 1000,
    components: [...components]
      .map(([component, samples]) => ({ component, samples, share: samples / busy }))
      .sort((a, b) => b.samples - a.samples),
    hotFunctions: [...functions.values()]
      .map((f) => ({ ...f, share: f.samples / busy }))
      .sort((a, b) => b.samples - a.samples)
      .slice(0, topFunctions),
  };
}

/** Share of the non-idle samples spent in frames matching `matches` or their callees (inclusive). */
export function inclusiveShare(loaded: LoadedProfile, matches: (frame: CallFrame) => boolean, window?: { fromUs: number; toUs: number }): number {
  const { profile, byId, parentOf } = loaded;
  const under = new Map<number, boolean>();
  const isUnder = (id: number): boolean => {
    const known = under.get(id);
    if (known !== undefined) return known;
    const parent = parentOf.get(id);
    const result = matches(byId.get(id)!.callFrame) || (parent !== undefined && isUnder(parent));
    under.set(id, result);
    return result;
  };
  let hits = 0;
  let busy = 0;
  for (const i of samplesWithin(loaded, window)) {
    const id = profile.samples[i]!;
    if (isIdle(byId.get(id)!.callFrame)) continue;
    busy++;
    if (isUnder(id)) hits++;
  }
  return busy === 0 ? 0 : hits / busy;
}
