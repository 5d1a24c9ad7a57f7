import { describe, expect, it } from "vitest";
import { memoryLatencyNs } from "../lib/memory-latency.ts";

describe("memoryLatencyNs", () => {
  it("times dependent random reads in a child process: more than a cached read, far less than a millisecond", () => {
    const ns = memoryLatencyNs();
    expect(Number.isFinite(ns)).toBe(true);
    expect(ns).toBeGreaterThan(5);
    expect(ns).toBeLessThan(100_000);
  }, 60_000);
});
