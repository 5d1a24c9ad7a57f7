import { describe, expect, it } from "vitest";
import { MeasurementWindow, runClosedLoop, scheduleWindow, sleep } from "../window.ts";

describe("MeasurementWindow", () => {
  it("counts only requests that finish inside the window", () => {
    const window = new MeasurementWindow();
    window.record(performance.now(), 1); // before the window opens
    window.open();
    window.record(performance.now() - 5, 2);
    window.record(performance.now(), 0, "HTTP 500");
    window.close();
    window.record(performance.now(), 1); // after it closed
    const summary = window.summary();
    expect(summary.items).toBe(2);
    expect(summary.requests).toBe(1);
    expect(summary.failures).toBe(1);
    expect(summary.failureSamples).toEqual(["HTTP 500"]);
    expect(summary.latency.p50).toBeGreaterThanOrEqual(5);
  });

  it("measures batched completions from the first batch to the last with completionSpan", () => {
    // Batches of 8 answers every 6 s (each batch's answers spread over 3 ms), a 20 s clock window
    // opening 1 s before a batch: the clock count depends on the edges, the span does not.
    const batchEnds = [1000, 7000, 13000, 19000];
    const clock = new MeasurementWindow();
    const span = new MeasurementWindow({ completionSpan: { burstMs: 100 } });
    for (const window of [clock, span]) {
      window.open(0);
      window.close(20_000);
      for (const end of batchEnds) for (let i = 0; i < 8; i++) window.record(end - 500, 1, undefined, end + i * 0.4);
    }
    expect(clock.summary().itemsPerSecond).toBeCloseTo(32 / 20, 6);
    const summary = span.summary();
    expect(summary.items).toBe(24);
    expect(summary.requests).toBe(32);
    expect(summary.rateSeconds).toBeCloseTo(18.0028, 3);
    expect(summary.itemsPerSecond).toBeCloseTo(8 / 6, 2);
  });

  it("has no rate before the span's second completion", () => {
    const window = new MeasurementWindow({ completionSpan: { burstMs: 100 } });
    window.open(0);
    window.close(1000);
    window.record(0, 1, undefined, 10);
    expect(window.summary().items).toBe(0);
    expect(window.summary().itemsPerSecond).toBeNaN();
  });

  it("runs closed loops until the scheduled window closes", async () => {
    const window = new MeasurementWindow();
    let calls = 0;
    const loop = runClosedLoop(3, window, async () => {
      calls++;
      await sleep(2);
      return { items: 1 };
    });
    await scheduleWindow(window, 10, 40);
    await loop;
    const summary = window.summary();
    expect(summary.items).toBeGreaterThan(0);
    expect(summary.items).toBeLessThan(calls);
    expect(summary.seconds).toBeGreaterThanOrEqual(0.039);
  });
});
