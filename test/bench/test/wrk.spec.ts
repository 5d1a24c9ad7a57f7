import { describe, expect, it } from "vitest";
import { luaString, parseWrkOutput } from "../lib/wrk.ts";

describe("wrk runner helpers", () => {
  it("writes any text as a Lua string literal of printable ASCII", () => {
    expect(luaString('a"b\\c\nd')).toBe('"a\\034b\\092c\\010d"');
    expect(luaString("é")).toBe('"\\195\\169"');
    expect(luaString(Uint8Array.of(0, 255, 65))).toBe('"\\000\\255A"');
  });

  it("reads the result line and the CPU of the shell's children", () => {
    const out = 'Running 1s test\nARBOR_WRK {"requests":10,"durationUs":1000000,"connect":0,"read":0,"write":0,"status":1,"timeout":0,"p50":100,"p90":200,"p99":300,"mean":120.5,"min":50,"max":400,"failures":2}\n0m0.010s 0m0.020s\n0m1.500s 0m0.250s\n';
    const { summary, cpuMs } = parseWrkOutput(out);
    expect(summary.requests).toBe(10);
    expect(summary.failures).toBe(2);
    expect(cpuMs).toBeCloseTo(1750, 6);
    expect(() => parseWrkOutput("no result")).toThrow(/no result line/);
  });
});
