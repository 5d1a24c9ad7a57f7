import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LatencySummary } from "./stats.ts";

/**
 * Runs wrk (C, epoll; Debian's `apt-get install wrk`), the load generator of the HTTP benchmarks where it is
 * installed: one thread drives every connection, so it takes a fraction of the CPU a Node client needs on the two
 * cores it shares with the servers under test. A benchmark supplies the Lua script (requests, response checks);
 * luaCommon() adds the rest: request() in turn, and a done() printing one line `ARBOR_WRK {json}`, which this reads,
 * with wrk's CPU from the shell's `times`.
 */

const RESULT_MARK = "ARBOR_WRK ";

let versionText: string | null | undefined;

/** What `wrk --version` prints, asked once; null when wrk does not run here. */
function wrkVersionText(): string | null {
  if (versionText === undefined) {
    const probe = spawnSync("wrk", ["--version"], { encoding: "utf8" });
    const text = `${probe.stdout}${probe.stderr}`;
    versionText = probe.error === undefined && /wrk/.test(text) ? text : null;
  }
  return versionText;
}

/** Whether `wrk` runs here. */
export function wrkAvailable(): boolean {
  return wrkVersionText() !== null;
}

/** e.g. "wrk 4.1.0-3+b2" (Debian's version string). */
export function wrkVersion(): string {
  const match = /wrk (\S+)/.exec(wrkVersionText() ?? "");
  return match ? `wrk ${match[1]!.replace(/^debian\//, "")}` : "wrk";
}

/** A Lua string literal of any text or bytes: printable ASCII as is, every other byte as a \ddd escape. */
export function luaString(text: string | Uint8Array): string {
  let out = '"';
  for (const byte of typeof text === "string" ? Buffer.from(text, "utf8") : text) {
    const printable = byte >= 0x20 && byte < 0x7f && byte !== 0x22 && byte !== 0x5c;
    out += printable ? String.fromCharCode(byte) : `\\${String(byte).padStart(3, "0")}`;
  }
  return `${out}"`;
}

/**
 * Lua every script shares: the failure globals its response() hook counts into, request() walking the script's
 * `requests` table in turn, and done() printing the result line (the first failure saved to `sampleFile`).
 */
export function luaCommon(sampleFile: string): string {
  return `-- Globals: done() reads them from each thread's state.
failures = 0
first_failure = nil
local next_request = 0

function request()
  next_request = next_request % #requests + 1
  return requests[next_request]
end

local threads = {}
function setup(thread) table.insert(threads, thread) end

function done(summary, latency, requests)
  local bad, first = 0, nil
  for _, t in ipairs(threads) do
    bad = bad + t:get("failures")
    first = first or t:get("first_failure")
  end
  if first then
    local f = io.open(${luaString(sampleFile)}, "w")
    f:write(first)
    f:close()
  end
  local e = summary.errors
  io.write(string.format('${RESULT_MARK}{"requests":%d,"durationUs":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"p50":%d,"p90":%d,"p99":%d,"mean":%.3f,"min":%d,"max":%d,"failures":%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.min, latency.max, bad))
end
`;
}

export interface WrkSummary {
  /** Every completed response, error statuses included. */
  requests: number;
  durationUs: number;
  connect: number;
  read: number;
  write: number;
  /** Responses with status ≥ 400. */
  status: number;
  timeout: number;
  /** Latencies in µs. */
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  min: number;
  max: number;
  /** Responses the script's own check refused. */
  failures: number;
}

/** wrk's result line, and its CPU from the `times` line of the shell that ran it (children's user and system). */
export function parseWrkOutput(stdout: string): { summary: WrkSummary; cpuMs: number } {
  const line = stdout.split("\n").find((l) => l.startsWith(RESULT_MARK));
  if (!line) throw new Error(`wrk printed no result line:\n${stdout.slice(-2000)}`);
  const summary = JSON.parse(line.slice(RESULT_MARK.length)) as WrkSummary;
  const children = [...stdout.matchAll(/^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/gm)].at(-1);
  if (!children) throw new Error(`no CPU times after wrk's output:\n${stdout.slice(-500)}`);
  const seconds = (m: string, s: string) => Number(m) * 60 + Number(s);
  return { summary, cpuMs: 1000 * (seconds(children[1]!, children[2]!) + seconds(children[3]!, children[4]!)) };
}

export interface WrkRun {
  url: string;
  connections: number;
  durationSeconds: number;
  timeoutSeconds: number;
  /**
   * The Lua script, which must declare a local table `requests` (filled by its init()) and a response() hook, and
   * end with luaCommon(sampleFile), whose request() reads that table. `dir` is the run's temporary folder, for files
   * the script reads.
   */
  script(dir: string, sampleFile: string): string;
}

export interface WrkResult {
  summary: WrkSummary;
  /** The run's duration as wrk measured it. */
  seconds: number;
  /** The summary's latencies in milliseconds, over every completed response. */
  latency: LatencySummary;
  /** Connection, read and write errors and timeouts: requests that got no answer. */
  transportErrors: number;
  /** wrk's user + system CPU. */
  cpuMs: number;
  /** The first answer the script's check refused, as it saved it. */
  failureSample: string | null;
}

/** One wrk run (one thread) in a temporary folder; resolves with its result line, CPU and failure sample. */
export async function runWrk(run: WrkRun): Promise<WrkResult> {
  const dir = mkdtempSync(join(tmpdir(), "arbor-wrk-"));
  try {
    const sampleFile = join(dir, "first-failure.txt");
    const script = join(dir, "load.lua");
    writeFileSync(script, run.script(dir, sampleFile));
    const args = ["-t", "1", "-c", String(run.connections), "-d", `${run.durationSeconds}s`, "--timeout", `${run.timeoutSeconds}s`, "-s", script, run.url];
    const stdout = await new Promise<string>((resolve, reject) => {
      // `times` after wrk prints the CPU of the shell's children: wrk's own user and system time.
      const child = spawn("/bin/sh", ["-c", 'wrk "$@"; status=$?; times; exit $status', "sh", ...args], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
      child.on("error", reject);
      child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`wrk exited with ${code}: ${err.slice(-1000)}${out.slice(-1000)}`))));
    });
    const { summary, cpuMs } = parseWrkOutput(stdout);
    const ms = (us: number) => us / 1000;
    const seconds = summary.durationUs / 1e6;
    return {
      summary,
      seconds,
      latency: { count: summary.requests, p50: ms(summary.p50), p90: ms(summary.p90), p99: ms(summary.p99), mean: ms(summary.mean), min: ms(summary.min), max: ms(summary.max), qps: summary.requests / seconds },
      transportErrors: summary.connect + summary.read + summary.write + summary.timeout,
      cpuMs,
      failureSample: existsSync(sampleFile) ? readFileSync(sampleFile, "utf8") : null,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
