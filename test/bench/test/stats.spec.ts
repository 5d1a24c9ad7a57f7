import { describe, expect, it } from "vitest";
import { mean, median, medianSummary, percentile, summarizeLatencies } from "../lib/stats.ts";

describe("percentile", () => {
  it("interpolates between closest ranks like numpy's default", () => {
    const values = [15, 20, 35, 40, 50];
    expect(percentile(values, 0)).toBe(15);
    expect(percentile(values, 100)).toBe(50);
    expect(percentile(values, 40)).toBeCloseTo(29, 10); // numpy.percentile([15,20,35,40,50], 40) = 29.0
    expect(percentile(values, 99)).toBeCloseTo(49.6, 10);
  });

  it("does not depend on input order and does not reorder the input", () => {
    const values = [9, 1, 5, 3, 7];
    expect(percentile(values, 50)).toBe(5);
    expect(values).toEqual([9, 1, 5, 3, 7]);
  });

  it("gives NaN for no values and rejects p outside 0..100", () => {
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });
});

describe("median and mean", () => {
  it("median of an even count is the midpoint", () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(mean([1, 2, 3, 6])).toBe(3);
  });
});

describe("summarizeLatencies", () => {
  it("reports QPS from the wall time, not from the sum of latencies", () => {
    const summary = summarizeLatencies([1, 2, 3, 4], 10);
    expect(summary.qps).toBe(400);
    expect(summary.p50).toBe(2.5);
    expect(summary.min).toBe(1);
    expect(summary.max).toBe(4);
  });

  it("medianSummary takes each field's median over repeats", () => {
    const runs = [summarizeLatencies([1, 1], 4), summarizeLatencies([3, 3], 2), summarizeLatencies([2, 2], 3)];
    const summary = medianSummary(runs);
    expect(summary.p50).toBe(2);
    expect(summary.qps).toBeCloseTo(2 / 0.003, 6);
  });
});
