import { describe, expect, it } from "vitest";
import { BenchArgs, BenchUsageError, formatCount, parseCount } from "../lib/args.ts";

describe("BenchArgs", () => {
  it("reads --key value, --key=value and bare flags", () => {
    const args = new BenchArgs(["--rows", "1m", "--ef=40,100", "--reuse", "--quick"]);
    expect(args.count("rows", 5)).toBe(1_000_000);
    expect(args.counts("ef", [1])).toEqual([40, 100]);
    expect(args.flag("reuse")).toBe(true);
    expect(args.flag("serial-build")).toBe(false);
    expect(args.string("database", "x")).toBe("x");
    expect(args.unknown()).toEqual(["quick"]);
  });

  it("rejects malformed values", () => {
    expect(() => new BenchArgs(["rows"])).toThrow(BenchUsageError);
    expect(() => new BenchArgs(["--rows", "lots"]).count("rows", 1)).toThrow(BenchUsageError);
    expect(() => new BenchArgs(["--reuse=maybe"]).flag("reuse")).toThrow(BenchUsageError);
    expect(() => new BenchArgs(["--database"]).string("database", "x")).toThrow(BenchUsageError);
    expect(() => new BenchArgs(["--ef", "40,many"]).counts("ef", [1])).toThrow(BenchUsageError);
    expect(() => new BenchArgs(["--filter-percent", "1,0"]).decimals("filter-percent", [1])).toThrow(BenchUsageError);
    expect(() => new BenchArgs(["--filter-percent", "1,-2"]).decimals("filter-percent", [1])).toThrow(BenchUsageError);
  });

  it("reads lists of decimals", () => {
    expect(new BenchArgs(["--filter-percent", "30, 5,0.1"]).decimals("filter-percent", [1])).toEqual([30, 5, 0.1]);
    expect(new BenchArgs([]).decimals("filter-percent", [1, 0.1])).toEqual([1, 0.1]);
  });
});

describe("counts", () => {
  it("parses suffixes and underscores and formats back", () => {
    expect(parseCount("100k")).toBe(100_000);
    expect(parseCount("1_000_000")).toBe(1_000_000);
    expect(parseCount("2.5k")).toBe(2_500);
    expect(parseCount("-1")).toBeUndefined();
    expect(formatCount(100_000)).toBe("100k");
    expect(formatCount(1_000_000)).toBe("1m");
    expect(formatCount(2_500)).toBe("2500");
  });
});
