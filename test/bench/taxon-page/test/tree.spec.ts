import { describe, expect, it } from "vitest";
import { ancestorsOf, generateTree, GENUS, RANKS, SPECIES } from "../tree.ts";

describe("synthetic tree", () => {
  const tree = generateTree(20_000, 7);

  it("has exactly the asked number of taxa, parents before children, one rank step per level", () => {
    expect(tree.size).toBe(20_000);
    expect(tree.rank[1]).toBe(0);
    const wrong: number[] = [];
    for (let id = 1; id <= tree.size; id++) {
      const parent = tree.parent[id]!;
      const ok = parent === 0 ? RANKS[tree.rank[id]!] === "kingdom" : parent < id && tree.rank[id] === tree.rank[parent]! + 1;
      if (!ok) wrong.push(id);
    }
    expect(wrong).toEqual([]);
  });

  it("keeps child counts, lineages and rank lists consistent", () => {
    const counted = new Int32Array(tree.size + 1);
    for (let id = 1; id <= tree.size; id++) if (tree.parent[id]) counted[tree.parent[id]!]!++;
    expect(Array.from(tree.childCount)).toEqual(Array.from(counted));
    for (const id of [1, 2, 500, 12_345, tree.size]) {
      const lineage = ancestorsOf(tree, id);
      expect(lineage.length).toBe(tree.rank[id]);
      expect(lineage.at(-1) ?? 0).toBe(tree.parent[id]);
      expect(lineage.every((a, i) => tree.rank[a] === i)).toBe(true);
    }
    expect(tree.genusIds.every((id) => tree.rank[id] === GENUS)).toBe(true);
    expect(tree.speciesIds.length + tree.genusIds.length).toBeLessThan(tree.size);
    expect(tree.speciesIds.every((id) => tree.rank[id] === SPECIES)).toBe(true);
  });

  it("gives genera 5–60 species, about half of them at least 20", () => {
    const sizes = Array.from(tree.genusIds, (id) => tree.childCount[id]!);
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(5);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(60);
    const large = sizes.filter((n) => n >= 20).length / sizes.length;
    expect(large).toBeGreaterThan(0.35);
    expect(large).toBeLessThan(0.65);
  });

  it("names taxa uniquely among siblings of a rank, species as 'Genus epithet'", () => {
    const keys = new Set<string>();
    for (let id = 1; id <= tree.size; id++) keys.add(`${tree.parent[id]}|${tree.rank[id]}|${tree.scientificName[id]}`);
    expect(keys.size).toBe(tree.size);
    const species = tree.speciesIds[0]!;
    expect(tree.scientificName[species]!.startsWith(`${tree.scientificName[tree.parent[species]!]} `)).toBe(true);
  });

  it("is a pure function of (size, seed)", () => {
    const again = generateTree(20_000, 7);
    expect(again.scientificName).toEqual(tree.scientificName);
    expect(Array.from(again.parent)).toEqual(Array.from(tree.parent));
    expect(generateTree(20_000, 8).scientificName).not.toEqual(tree.scientificName);
  });
});
