import { describe, expect, it } from "vitest";
import { compareTop1, FLOAT64_TIE_GAP } from "../classify/exactness.ts";

describe("compareTop1", () => {
  it("separates identical answers, float64 ties and real errors per rank", () => {
    const reference = {
      top1: [
        [0, 1, 2, 3, 4, 5, 6],
        [0, 1, 2, 3, 4, 5, 7],
      ],
      relativeGap: [
        [0.5, 0.5, 0.5, 0.5, 0.5, 1e-3, FLOAT64_TIE_GAP / 10],
        [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.2],
      ],
      seconds: 1,
    };
    const answers = [
      [0, 1, 2, 3, 4, 9, 8],
      [0, 1, 2, 3, 4, 5, 8],
    ];
    const result = compareTop1(answers, reference, 1e-2);
    expect(result[0]).toMatchObject({ rank: "kingdom", identical: 2, wrong: 0, ties: 0, belowFloat32Bound: 0 });
    expect(result[5]).toMatchObject({ rank: "genus", identical: 1, wrong: 1, ties: 0, belowFloat32Bound: 1, closestGap: 1e-3 });
    expect(result[6]).toMatchObject({ rank: "species", identical: 0, wrong: 1, ties: 1, belowFloat32Bound: 1 });
  });
});
