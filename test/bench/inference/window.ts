import { summarizeLatencies, type LatencySummary } from "../lib/stats.ts";

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
  record(startedAt: number, items: number, failure?: string): void {
    const now = performance.now();
    if (now < this.start || now > this.end) return;
    if (failure !== undefined) {
      this.failures++;
      if (this.failureSamples.length < 5) this.failureSamples.push(failure);
      return;
    }
    this.items += items;
    this.latenciesMs.push(now - startedAt);
  }

  get seconds(): number {
    return (this.end - this.start) / 1000;
  }

  summary(): WindowSummary {
    const latency = summarizeLatencies(this.latenciesMs, this.end - this.start);
    return { seconds: this.seconds, items: this.items, itemsPerSecond: this.items / this.seconds, requests: this.latenciesMs.length, failures: this.failures, failureSamples: this.failureSamples, latency };
  }
}

export interface WindowSummary {
  seconds: number;
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
