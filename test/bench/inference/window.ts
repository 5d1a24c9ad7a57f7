import { summarizeLatencies, type LatencySummary } from "../lib/stats.ts";

export interface WindowOptions {
  /**
   * Throughput from completion to completion instead of over the clock window: the completions within
   * `burstMs` of the window's first one open the span and are not counted; the last counted completion
   * closes it. For encoders whose answers arrive in whole batches seconds apart (ViT-L/14 on a CPU),
   * where a clock window's count moves by a batch depending on where its edges fall.
   */
  completionSpan?: { burstMs: number };
}

/**
 * A steady-state measurement window for closed-loop clients: the clients run through a warm-up, then
 * every request that *finishes* inside [start, end] counts (its latency too); the clients keep running
 * until the window closes, so the window never sees the ramp-up or the drain.
 */
export class MeasurementWindow {
  start = Number.POSITIVE_INFINITY;
  end = Number.POSITIVE_INFINITY;
  readonly latenciesMs: number[] = [];
  items = 0;
  failures = 0;
  readonly failureSamples: string[] = [];
  /** completionSpan: the window's first completion, and its last counted one. */
  private spanStart = Number.NaN;
  private spanEnd = Number.NaN;

  constructor(private readonly options: WindowOptions = {}) {}

  open(now = performance.now()): void {
    this.start = now;
  }

  close(now = performance.now()): void {
    this.end = now;
  }

  get closed(): boolean {
    return performance.now() >= this.end;
  }

  /** A request that started at `startedAt` finished now with `items` results (0 for a failure). */
  record(startedAt: number, items: number, failure?: string, now = performance.now()): void {
    if (now < this.start || now > this.end) return;
    if (failure !== undefined) {
      this.failures++;
      if (this.failureSamples.length < 5) this.failureSamples.push(failure);
      return;
    }
    this.latenciesMs.push(now - startedAt);
    const span = this.options.completionSpan;
    if (span) {
      if (Number.isNaN(this.spanStart)) this.spanStart = now;
      if (now - this.spanStart <= span.burstMs) return;
      this.spanEnd = now;
    }
    this.items += items;
  }

  /** The clock window. */
  get seconds(): number {
    return (this.end - this.start) / 1000;
  }

  /** What throughput is measured over: the clock window, or the completion span when asked for. */
  get rateSeconds(): number {
    if (!this.options.completionSpan) return this.seconds;
    return Number.isNaN(this.spanEnd) ? Number.NaN : (this.spanEnd - this.spanStart) / 1000;
  }

  summary(): WindowSummary {
    const latency = summarizeLatencies(this.latenciesMs, this.end - this.start);
    return {
      seconds: this.seconds,
      rateSeconds: this.rateSeconds,
      items: this.items,
      itemsPerSecond: this.items / this.rateSeconds,
      requests: this.latenciesMs.length,
      failures: this.failures,
      failureSamples: this.failureSamples,
      latency,
    };
  }
}

export interface WindowSummary {
  seconds: number;
  /** The seconds `itemsPerSecond` is over (= seconds unless completionSpan). */
  rateSeconds: number;
  items: number;
  itemsPerSecond: number;
  requests: number;
  failures: number;
  failureSamples: string[];
  latency: LatencySummary;
}

/** Runs `clients` closed loops of `request(client, sequence)` until the window closes; resolves when all loops have stopped. */
export async function runClosedLoop(
  clients: number,
  window: MeasurementWindow,
  request: (client: number, sequence: number) => Promise<{ items: number } | { failure: string }>,
): Promise<void> {
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      for (let sequence = 0; !window.closed; sequence++) {
        const startedAt = performance.now();
        const outcome = await request(client, sequence);
        if ("failure" in outcome) window.record(startedAt, 0, outcome.failure);
        else window.record(startedAt, outcome.items);
      }
    }),
  );
}

/** Opens the window after `warmupMs`, calls `onOpen`, closes it `durationMs` later, calls `onClose`. */
export async function scheduleWindow(
  window: MeasurementWindow,
  warmupMs: number,
  durationMs: number,
  hooks: { onOpen?: () => Promise<void>; onClose?: () => Promise<void> } = {},
): Promise<void> {
  window.end = Number.POSITIVE_INFINITY;
  await sleep(warmupMs);
  await hooks.onOpen?.();
  window.open();
  await sleep(durationMs);
  window.close();
  await hooks.onClose?.();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export type { LatencySummary };
