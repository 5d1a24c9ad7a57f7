import { beforeAll, describe, expect, it } from "vitest";
import { EmbeddingGenerator, rowOfUuid, rowUuid } from "../similar-images/embeddings.ts";
import { BIOCLIP2_LIKE_GEOMETRY, RANKS, TREE_SHAPE } from "../similar-images/geometry.ts";
import { SyntheticTaxonomy } from "../similar-images/taxonomy.ts";

let taxonomy: SyntheticTaxonomy;
let generator: EmbeddingGenerator;
const D = BIOCLIP2_LIKE_GEOMETRY.dimension;

beforeAll(() => {
  taxonomy = new SyntheticTaxonomy(42, TREE_SHAPE);
  generator = new EmbeddingGenerator(taxonomy, BIOCLIP2_LIKE_GEOMETRY);
});

function row(index: number): Float32Array {
  const out = new Float32Array(D);
  generator.vector(index, out);
  return out;
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  for (let d = 0; d < D; d++) dot += a[d]! * b[d]!;
  return dot;
}

describe("synthetic taxonomy", () => {
  it("is a tree of the seven ranks whose ancestor lists match parent links", () => {
    expect(taxonomy.speciesCount).toBeGreaterThan(10_000);
    for (const taxon of taxonomy.taxa.slice(0, 2_000)) {
      const parent = taxon.parentId === null ? undefined : taxonomy.taxon(taxon.parentId);
      expect(taxon.ancestorIds).toEqual(parent ? [...parent.ancestorIds, parent.id] : []);
      expect(taxon.rank).toBe(taxon.ancestorIds.length);
    }
    const species = taxonomy.taxon(taxonomy.speciesTaxonIds[0]!);
    expect(RANKS[species.rank]).toBe("species");
    expect(new Set(taxonomy.taxa.map((t) => `${t.parentId}/${t.scientificName}`)).size).toBe(taxonomy.taxa.length);
  });

  it("assigns rows to species deterministically with a long tail", () => {
    const counts = new Map<number, number>();
    for (let r = 0; r < 50_000; r++) counts.set(taxonomy.speciesOfRow(r), (counts.get(taxonomy.speciesOfRow(r)) ?? 0) + 1);
    const sorted = [...counts.values()].sort((a, b) => b - a);
    expect(sorted[0]!).toBeGreaterThan(20 * sorted[Math.floor(sorted.length / 2)]!);
    expect(new SyntheticTaxonomy(42, TREE_SHAPE).speciesOfRow(12_345)).toBe(taxonomy.speciesOfRow(12_345));
  });
});

describe("synthetic embeddings", () => {
  it("are unit vectors, regenerated identically by row", () => {
    const a = row(777);
    expect(Math.sqrt(cosine(a, a))).toBeCloseTo(1, 5);
    expect(Array.from(row(777))).toEqual(Array.from(a));
    expect(Array.from(row(778))).not.toEqual(Array.from(a));
  });

  it("reproduce the real sample's similarity levels: same species ≈ 0.89, random pairs ≈ 0.59", () => {
    const bySpecies = new Map<number, number[]>();
    for (let r = 0; r < 20_000; r++) {
      const species = generator.speciesOfRow(r);
      (bySpecies.get(species) ?? bySpecies.set(species, []).get(species)!).push(r);
    }
    const same: number[] = [];
    for (const rows of bySpecies.values()) if (rows.length >= 2 && same.length < 300) same.push(cosine(row(rows[0]!), row(rows[1]!)));
    const random: number[] = [];
    for (let i = 0; i < 300; i++) random.push(cosine(row(i * 37), row(i * 37 + 20_001)));
    const avg = (values: number[]) => values.reduce((s, v) => s + v, 0) / values.length;
    expect(same.length).toBe(300);
    expect(avg(same)).toBeGreaterThan(0.87);
    expect(avg(same)).toBeLessThan(0.91);
    expect(avg(random)).toBeGreaterThan(0.57);
    expect(avg(random)).toBeLessThan(0.62);
  });

  it("map rows to uuids and back", () => {
    expect(rowUuid(255)).toBe("00000000-0000-4000-8000-0000000000ff");
    expect(rowOfUuid(rowUuid(999_999))).toBe(999_999);
    expect(() => rowOfUuid("11111111-0000-4000-8000-000000000000")).toThrow(RangeError);
  });
});
