import { describe, expect, it } from "vitest";
import { hash32, Random } from "../lib/prng.ts";

describe("Random", () => {
  it("is a pure function of (seed, stream, index)", () => {
    const draw = (random: Random) => Array.from({ length: 5 }, () => random.uint32());
    expect(draw(new Random(7, 1, 99))).toEqual(draw(new Random(7, 1, 99)));
    expect(draw(new Random(7, 1, 99))).not.toEqual(draw(new Random(7, 1, 100)));
    expect(draw(new Random(7, 2, 99))).not.toEqual(draw(new Random(7, 1, 99)));
    expect(draw(new Random(8, 1, 99))).not.toEqual(draw(new Random(7, 1, 99)));
  });

  it("draws standard normals", () => {
    const random = new Random(1);
    const n = 200_000;
    let sum = 0;
    let squares = 0;
    for (let i = 0; i < n; i++) {
      const value = random.gaussian();
      sum += value;
      squares += value * value;
    }
    expect(Math.abs(sum / n)).toBeLessThan(0.01);
    expect(squares / n).toBeGreaterThan(0.98);
    expect(squares / n).toBeLessThan(1.02);
  });

  it("draws integers within bounds, each value reached", () => {
    const random = new Random(3);
    const seen = new Set<number>();
    for (let i = 0; i < 1_000; i++) seen.add(random.int(2, 5));
    expect([...seen].sort()).toEqual([2, 3, 4, 5]);
  });

  it("hash32 spreads consecutive inputs", () => {
    const values = new Set(Array.from({ length: 10_000 }, (_, i) => hash32(42, i)));
    expect(values.size).toBe(10_000);
  });
});
