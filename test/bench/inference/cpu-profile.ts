import { readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";

/** The parts of V8's .cpuprofile (written by `node --cpu-prof`) that the summary reads. */
interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }>;
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileLine {
  what: string;
  ms: number;
  /** Share of the main thread's busy (non-idle) time. */
  shareOfBusy: number;
}

export interface ProfileSummary {
  file: string;
  wallMs: number;
  busyMs: number;
  /** Main-thread busy share of wall time (event-loop utilisation). */
  busyShare: number;
  /** Self time by category (what the main thread did). */
  categories: ProfileLine[];
  /** Inclusive time of the request path's own steps. */
  steps: ProfileLine[];
  /** Top functions by self time. */
  topSelf: ProfileLine[];
}

/** Self-time categories, first match wins: url fragments (or function names for V8's own entries). */
const CATEGORIES: Array<[string, (frame: { functionName: string; url: string }) => boolean]> = [
  ["idle", (f) => f.functionName === "(idle)"],
  ["garbage collection", (f) => f.functionName === "(garbage collector)"],
  ["native / runtime (program)", (f) => f.functionName === "(program)"],
  ["pino logging", (f) => /node_modules\/(pino|sonic-boom|thread-stream|fast-redact|quick-format)/.test(f.url)],
  ["prom-client metrics", (f) => f.url.includes("node_modules/prom-client")],
  ["body parsing (body-parser, raw-body, iconv)", (f) => /node_modules\/(body-parser|raw-body|iconv-lite|content-type|type-is|media-typer)/.test(f.url)],
  ["express routing / response", (f) => /node_modules\/(express|router|finalhandler|send|on-finished|statuses|mime|depd|parseurl)/.test(f.url)],
  ["onnxruntime-node binding", (f) => f.url.includes("onnxruntime")],
  ["inference service code", (f) => f.url.includes("services/inference/src")],
  ["tsx loader", (f) => f.url.includes("node_modules/tsx")],
  ["node:http / net / stream internals", (f) => /^node:(_http|http|net|stream|internal\/(http|streams|stream_base|net|js_stream))/.test(f.url) || /node:internal\/(streams|http)/.test(f.url)],
  ["node:worker_threads / messaging", (f) => /node:internal\/(worker|per_context\/messageport)/.test(f.url)],
  ["other node internals", (f) => f.url.startsWith("node:")],
  ["V8 builtins without a script (JSON, Buffer, regex …)", (f) => f.url === ""],
];

/** Steps of the request path whose inclusive time is reported, matched by function name (and url fragment). */
const STEPS: Array<[string, string, string?]> = [
  ["express.json body parser (read + JSON.parse of the base64 body)", "jsonParser", "body-parser"],
  ["JSON.parse of the body (inside the body parser)", "parse", "body-parser"],
  ["decodeImages (base64 check + decode)", "decodeImages", "services/inference"],
  ["embeddingsBody (Float32Array → number[])", "embeddingsBody", "services/inference"],
  ["res.json (JSON.stringify of the response)", "json", "express"],
  ["PreprocessPool.preprocessToSlots (copy + post to worker)", "preprocessToSlots", "preprocess-pool"],
  ["express.raw body parser (the image file as the body)", "rawParser", "body-parser"],
  ["sendBinaryEmbeddings (float32 answer)", "sendBinaryEmbeddings", "binary-transport"],
  ["PreprocessPool #finish (worker reply)", "#finish", "preprocess-pool"],
  ["MicroBatcher #runNext (batch run, JS side)", "#runNext", "micro-batcher"],
  ["ImageEmbedder #run (concatenate + session.run + normalise)", "#run", "image-embedder"],
  ["WorkerSession.run (tensors to and from the encoder thread)", "run", "worker-session"],
  ["l2NormalisedRows", "l2NormalisedRows", "embedding-math"],
  ["pino: log line per request", "LOG", "pino"],
  ["prom-client: histogram observe", "observe", "prom-client"],
];

function frameKey(frame: { functionName: string; url: string; lineNumber: number }): string {
  const where = frame.url ? `${basename(frame.url)}:${frame.lineNumber + 1}` : "(native)";
  return `${frame.functionName || "(anonymous)"} ${where}`;
}

/** The main thread's profile in `dir`: files are CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile, the main thread is 0. */
export function mainThreadProfile(dir: string): string {
  const files = readdirSync(dir).filter((file) => /\.\d+\.0\.\d+\.cpuprofile$/.test(file));
  if (files.length === 0) throw new Error(`no main-thread .cpuprofile in ${dir}`);
  return join(dir, files.sort().at(-1)!);
}

/**
 * Summarises a main-thread CPU profile: self time by category and by function, and the inclusive time
 * of the request path's steps (recursion counted once). Worker threads are not in it: their time is
 * the service's preprocess histogram. `window` (monotonic µs, `process.hrtime.bigint() / 1000n`) keeps
 * only the samples taken inside it, leaving out start-up and warm-up.
 */
export function summariseProfile(file: string, window?: { fromUs: number; toUs: number }, top = 20): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  // Sample times are V8 TimeTicks (CLOCK_MONOTONIC, µs), the clock of process.hrtime in every process.
  const from = window?.fromUs ?? profile.startTime;
  const to = window?.toUs ?? profile.endTime;
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    if (at < from || at > to) continue;
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const wallMs = (Math.min(to, profile.endTime) - Math.max(from, profile.startTime)) / 1000;

  const categoryUs = new Map<string, number>();
  const functionUs = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    const category = CATEGORIES.find(([, test]) => test(frame))?.[0] ?? "other JavaScript (dependencies)";
    categoryUs.set(category, (categoryUs.get(category) ?? 0) + us);
    const key = frameKey(frame);
    functionUs.set(key, (functionUs.get(key) ?? 0) + us);
  }
  const idleMs = (categoryUs.get("idle") ?? 0) / 1000;
  const busyMs = [...categoryUs.values()].reduce((a, b) => a + b, 0) / 1000 - idleMs;

  // Inclusive time per step: walk the tree, adding a node's subtree total unless an ancestor already matched the same step.
  const totalUs = new Map<number, number>();
  const subtotal = (id: number): number => {
    const cached = totalUs.get(id);
    if (cached !== undefined) return cached;
    const node = byId.get(id)!;
    let sum = selfUs.get(id) ?? 0;
    for (const child of node.children ?? []) sum += subtotal(child);
    totalUs.set(id, sum);
    return sum;
  };
  const stepUs = new Map<string, number>();
  const root = profile.nodes[0]!;
  const walk = (id: number, active: Set<string>) => {
    const node = byId.get(id)!;
    const matched = STEPS.filter(([label, name, url]) => !active.has(label) && node.callFrame.functionName === name && (!url || node.callFrame.url.includes(url)));
    for (const [label] of matched) stepUs.set(label, (stepUs.get(label) ?? 0) + subtotal(id));
    const next = matched.length > 0 ? new Set([...active, ...matched.map(([label]) => label)]) : active;
    for (const child of node.children ?? []) walk(child, next);
  };
  walk(root.id, new Set());

  const line = (what: string, us: number): ProfileLine => ({ what, ms: us / 1000, shareOfBusy: busyMs > 0 ? us / 1000 / busyMs : 0 });
  return {
    file,
    wallMs,
    busyMs,
    busyShare: busyMs / wallMs,
    categories: [...categoryUs].filter(([name]) => name !== "idle").map(([name, us]) => line(name, us)).sort((a, b) => b.ms - a.ms),
    steps: STEPS.map(([label]) => line(label, stepUs.get(label) ?? 0)).filter((step) => step.ms > 0),
    topSelf: [...functionUs].filter(([key]) => !key.startsWith("(idle)")).map(([key, us]) => line(key, us)).sort((a, b) => b.ms - a.ms).slice(0, top),
  };
}
