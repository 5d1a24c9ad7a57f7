/** Percentile by linear interpolation between closest ranks (the "R-7" rule of numpy and Excel). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, got ${p}`);
  const sorted = [...values].sort((a, b) => a - b);
  const position = (p / 100) * (sorted.length - 1);
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  return sorted[lower]! + (sorted[upper]! - sorted[lower]!) * (position - lower);
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  let sum = 0;
  for (const value of values) sum += value;
  return sum / values.length;
}

export interface LatencySummary {
  count: number;
  /** Milliseconds. */
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  min: number;
  max: number;
  /** Requests per second of one client issuing them back to back: count / wall time. */
  qps: number;
}

/** `latenciesMs` are per-request times; `wallMs` the elapsed time of the whole sequence. */
export function summarizeLatencies(latenciesMs: readonly number[], wallMs: number): LatencySummary {
  return {
    count: latenciesMs.length,
    p50: percentile(latenciesMs, 50),
    p90: percentile(latenciesMs, 90),
    p99: percentile(latenciesMs, 99),
    mean: mean(latenciesMs),
    min: Math.min(...latenciesMs),
    max: Math.max(...latenciesMs),
    qps: latenciesMs.length / (wallMs / 1000),
  };
}

/** Per-field median of several summaries of the same measurement repeated. */
export function medianSummary(runs: readonly LatencySummary[]): LatencySummary {
  const pick = (key: keyof LatencySummary) => median(runs.map((run) => run[key]));
  return {
    count: runs[0]?.count ?? 0,
    p50: pick("p50"),
    p90: pick("p90"),
    p99: pick("p99"),
    mean: pick("mean"),
    min: pick("min"),
    max: pick("max"),
    qps: pick("qps"),
  };
}

/** Times one async call in milliseconds with the monotonic clock. */
export async function timed<T>(work: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const start = performance.now();
  const result = await work();
  return { result, ms: performance.now() - start };
}
