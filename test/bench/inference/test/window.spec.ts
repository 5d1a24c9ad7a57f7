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
