import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Progress } from "../../lib/progress.ts";
import { queryFileMatches, readDataset, speciesFileMatches, writeQueryFile, writeSpeciesFile } from "../classify/synthetic-dataset.ts";
import { BRANCHING, buildTree, groupName, KINGDOMS } from "../classify/synthetic-tree.ts";

const dir = mkdtempSync(join(tmpdir(), "arbor-classify-data-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const quiet = new Progress("test", () => {});

describe("synthetic tree", () => {
  const tree = buildTree(5000, 3);

  it("puts every group in one contiguous run of positions, nested in its parent", () => {
    for (let r = 0; r < 6; r++) {
      const groups = tree.groupOf[r]!;
      expect(groups[0]).toBe(0);
      for (let p = 1; p < tree.species; p++) {
        expect(groups[p]! - groups[p - 1]!).toBeGreaterThanOrEqual(0);
        expect(groups[p]! - groups[p - 1]!).toBeLessThanOrEqual(1);
        // A new group at a higher rank starts a new group at every rank below it.
        if (r > 0 && tree.groupOf[r - 1]![p] !== tree.groupOf[r - 1]![p - 1]) expect(groups[p]).toBe(groups[p - 1]! + 1);
      }
      expect(groups[tree.species - 1]! + 1).toBe(tree.groupCounts[r]);
    }
    expect(tree.groupCounts[0]).toBe(Math.min(KINGDOMS, tree.groupCounts[1]!));
  });

  it("keeps 1–50 species per genus and is reproducible from the seed", () => {
    const sizes = new Map<number, number>();
    for (const g of tree.groupOf[5]!) sizes.set(g, (sizes.get(g) ?? 0) + 1);
    const inner = [...sizes.entries()].filter(([g]) => g !== tree.groupCounts[5]! - 1).map(([, n]) => n);
    expect(Math.min(...inner)).toBeGreaterThanOrEqual(BRANCHING.species.min);
    expect(Math.max(...inner)).toBeLessThanOrEqual(BRANCHING.species.max);
    expect(buildTree(5000, 3).groupOf[5]).toEqual(tree.groupOf[5]);
    expect(buildTree(5000, 4).groupOf[5]).not.toEqual(tree.groupOf[5]);
  });

  it("names sort in group order", () => {
    const names = Array.from({ length: 120 }, (_, g) => groupName(5, g, 120));
    expect([...names].sort()).toEqual(names);
    expect(names[7]).toBe("G007");
  });
});

describe("synthetic data files", () => {
  const params = { species: 3000, dim: 768, seed: 5 };
  const speciesPath = join(dir, "species.bin");
  const queriesPath = join(dir, "queries.bin");
  writeSpeciesFile(speciesPath, params, quiet);
  writeQueryFile(queriesPath, { ...params, queries: 20, queryNoise: 1 });
  const data = readDataset(speciesPath, queriesPath);
  const dot = (a: Float32Array, i: number, b: Float32Array, j: number) => {
    let s = 0;
    for (let k = 0; k < 768; k++) s += a[i * 768 + k]! * b[j * 768 + k]!;
    return s;
  };

  it("round-trips and recognises its parameters", () => {
    expect(data.vectors.length).toBe(3000 * 768);
    expect(data.queries.length).toBe(20 * 768);
    expect(speciesFileMatches(speciesPath, params)).toBe(true);
    expect(speciesFileMatches(speciesPath, { ...params, seed: 6 })).toBe(false);
    expect(queryFileMatches(queriesPath, { ...params, queries: 20, queryNoise: 1 })).toBe(true);
    expect(queryFileMatches(queriesPath, { ...params, queries: 20, queryNoise: 2 })).toBe(false);
  });

  it("writes unit vectors whose cosine grows with the shared lineage", () => {
    for (const p of [0, 1234, 2999]) expect(Math.sqrt(dot(data.vectors, p, data.vectors, p))).toBeCloseTo(1, 5);
    const genus = data.tree.groupOf[5]!;
    const kingdom = data.tree.groupOf[0]!;
    let sameGenus = 0;
    let sameGenusPairs = 0;
    let otherKingdom = 0;
    let otherKingdomPairs = 0;
    for (let p = 1; p < 3000; p += 7) {
      if (genus[p] === genus[p - 1]) {
        sameGenus += dot(data.vectors, p, data.vectors, p - 1);
        sameGenusPairs++;
      }
      const far = (p + 1500) % 3000;
      if (kingdom[far] !== kingdom[p]) {
        otherKingdom += dot(data.vectors, p, data.vectors, far);
        otherKingdomPairs++;
      }
    }
    expect(sameGenus / sameGenusPairs).toBeGreaterThan(0.8);
    expect(otherKingdom / otherKingdomPairs).toBeLessThan(0.4);
  });

  it("draws each query around its recorded species", () => {
    for (let q = 0; q < 20; q++) {
      const t = data.truth[q]!;
      // cos(q, s_t) ≈ 1/√(1 + σ²) = 0.71 for σ = 1; a species of another kingdom is far lower.
      expect(dot(data.queries, q, data.vectors, t)).toBeGreaterThan(0.6);
    }
  });
});
