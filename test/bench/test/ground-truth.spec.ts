import { describe, expect, it } from "vitest";
import { datasetSpec } from "../similar-images/dataset.ts";
import { EmbeddingGenerator } from "../similar-images/embeddings.ts";
import { recallAtK } from "../similar-images/ground-truth.ts";
import { nearestRows } from "../similar-images/ground-truth.worker.ts";
import { SyntheticTaxonomy } from "../similar-images/taxonomy.ts";

describe("recallAtK", () => {
  const truth = { rows: [1, 2, 3, 4], distances: [0.1, 0.2, 0.3, 0.300001] };
  it("counts true neighbours among the first k returned", () => {
    expect(recallAtK([1, 2, 3], truth, 3)).toBe(1);
    expect(recallAtK([1, 9, 3], truth, 3)).toBeCloseTo(2 / 3, 10);
    expect(recallAtK([1, 2], truth, 3)).toBeCloseTo(2 / 3, 10);
    expect(recallAtK([1, 1, 1], truth, 3)).toBeCloseTo(1 / 3, 10);
  });
  it("accepts a row tied with the k-th within the tolerance", () => {
    expect(recallAtK([1, 2, 4], truth, 3)).toBe(1);
    expect(recallAtK([1, 2, 4], truth, 3, 0)).toBeCloseTo(2 / 3, 10);
  });
  it("asks for no more rows than exist", () => {
    expect(recallAtK([7, 8], { rows: [7, 8], distances: [0.1, 0.2] }, 10)).toBe(1);
  });
});

describe("exact nearest rows", () => {
  it("match a brute-force sort, exclude the query row and honour subtree filters", () => {
    const spec = datasetSpec(3_000, 5);
    const taxonomy = new SyntheticTaxonomy(spec.seed, spec.tree);
    const generator = new EmbeddingGenerator(taxonomy, spec.geometry);
    const D = generator.dimension;
    const subtree = taxonomy.taxon(generator.taxonIdOfRow(10)).ancestorIds[3]!; // the order of row 10
    const queryRows = [10, 500, 2_999];
    const partial = nearestRows({
      kind: "similar-images-ground-truth",
      spec,
      rowStart: 0,
      rowEnd: spec.rows,
      keep: 5,
      groups: [
        { queryRows, withinTaxonId: null },
        { queryRows, withinTaxonId: subtree },
      ],
    });
    const all = new Float32Array(spec.rows * D);
    for (let r = 0; r < spec.rows; r++) generator.vector(r, all, r * D);
    queryRows.forEach((q, j) => {
      for (const [g, within] of [null, subtree].entries()) {
        const expected = Array.from({ length: spec.rows }, (_, r) => r)
          .filter((r) => r !== q && (within === null || taxonomy.isWithin(generator.taxonIdOfRow(r), within)))
          .map((r) => {
            let dot = 0;
            for (let d = 0; d < D; d++) dot += all[r * D + d]! * all[q * D + d]!;
            return { r, dot };
          })
          .sort((a, b) => b.dot - a.dot)
          .slice(0, 5);
        expect(Array.from(partial.rows[g]![j]!)).toEqual(expected.map((e) => e.r));
        expect(partial.similarities[g]![j]![0]).toBeCloseTo(expected[0]!.dot, 9);
      }
    });
  });
});
