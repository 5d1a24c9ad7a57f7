import autocannon from "autocannon";
import { percentile } from "../lib/stats.ts";
import { wrkAvailable } from "../lib/wrk.ts";
import { runWrkLoad } from "./wrk-load.ts";

/**
 * Closed-loop HTTP load: `connections` keep-alive clients, each sending its next request as soon as the previous
 * answer arrived, for a fixed duration. Taxon ids come from a fixed list walked in order (the same order for every
 * server). Two generators: wrk (wrk-load.ts, the default where it is installed: a C process using a fraction of
 * the CPU) and autocannon in this process (latencies kept per request, not from its 1 ms histogram).
 */

export const LOAD_GENERATORS = ["wrk", "autocannon"] as const;
export type LoadGeneratorName = (typeof LOAD_GENERATORS)[number];

/** wrk where it runs, else autocannon. */
export function defaultLoadGenerator(): LoadGeneratorName {
  return wrkAvailable() ? "wrk" : "autocannon";
}

export interface HttpRequestSpec {
  method: "GET" | "POST";
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface LoadTarget {
  name: string;
  baseUrl: string;
  request(id: number): HttpRequestSpec;
  /** What a valid 200 body looks like (a taxon, no GraphQL errors): plain text tests both generators can run. */
  validBody: BodyCheck;
}

export interface BodyCheck {
  /** The body starts with this. */
  prefix: string;
  /** The body does not contain this. */
  absent: string;
}

export function isValidBody(check: BodyCheck, body: string): boolean {
  return body.startsWith(check.prefix) && !body.includes(check.absent);
}

export interface LoadOptions {
  generator: LoadGeneratorName;
  connections: number;
  durationSeconds: number;
  ids: readonly number[];
}

export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  /** Milliseconds. */
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  max: number;
  /** Connection errors, timeouts included. */
  errors: number;
  non2xx: number;
  /** 200 responses whose body was not a valid page. */
  invalidBodies: number;
  firstInvalidBody: string | null;
  /** CPU of a load generator running as its own process (wrk); absent when it runs in this one. */
  generatorCpuMs?: number;
}

const MAX_SAMPLES = 2_000_000;

export function runLoad(target: LoadTarget, options: LoadOptions): Promise<LoadResult> {
  return options.generator === "wrk" ? runWrkLoad(target, options) : runAutocannon(target, options);
}

async function runAutocannon(target: LoadTarget, options: LoadOptions): Promise<LoadResult> {
  let next = 0;
  let count = 0;
  let invalidBodies = 0;
  let firstInvalidBody: string | null = null;
  const latencies = new Float64Array(MAX_SAMPLES);
  const first = target.request(options.ids[0]!);
  // Without a callback autocannon returns an event emitter that is also a promise of the result.
  const instance = autocannon({
    url: target.baseUrl,
    connections: options.connections,
    pipelining: 1,
    duration: options.durationSeconds,
    timeout: 10,
    requests: [
      {
        method: first.method,
        path: first.path,
        setupRequest: (request) => {
          const spec = target.request(options.ids[next++ % options.ids.length]!);
          return { ...request, method: spec.method, path: spec.path, headers: spec.headers ?? {}, body: spec.body };
        },
        onResponse: (status, body) => {
          if (status === 200 && !isValidBody(target.validBody, body)) {
            invalidBodies++;
            firstInvalidBody ??= body.slice(0, 500);
          }
        },
      },
    ],
  }) as unknown as autocannon.Instance & PromiseLike<autocannon.Result>;
  instance.on("response", (_client, statusCode, _bytes, responseTime) => {
    if (statusCode === 200 && count < MAX_SAMPLES) latencies[count++] = responseTime;
  });
  const result = await instance;
  const samples = Array.from(latencies.subarray(0, count));
  const seconds = result.duration;
  return {
    requests: count,
    seconds,
    rps: count / seconds,
    p50: percentile(samples, 50),
    p90: percentile(samples, 90),
    p99: percentile(samples, 99),
    mean: samples.reduce((a, b) => a + b, 0) / Math.max(1, count),
    max: samples.reduce((a, b) => Math.max(a, b), 0),
    errors: result.errors,
    non2xx: result.non2xx,
    invalidBodies,
    firstInvalidBody,
  };
}
