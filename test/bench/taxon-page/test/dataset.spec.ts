import { describe, expect, it } from "vitest";
import { hasTraits, ImagePlan, synonymOf, traitsOf, type DatasetSpec } from "../dataset.ts";
import { copyField } from "../load.ts";
import { GENUS, SPECIES, generateTree } from "../tree.ts";

describe("synthetic dataset rows", () => {
  const tree = generateTree(20_000, 3);
  const spec: DatasetSpec = { taxa: 20_000, images: 2_000, seed: 3, traitSpeciesShare: 0.1 };

  it("puts images on species, reproducibly, with valid uuids and distinct hashes", () => {
    const plan = new ImagePlan(tree, spec.seed);
    const rows = Array.from({ length: spec.images }, (_, i) => plan.row(i));
    expect(rows.every((row) => tree.rank[row.taxonId] === SPECIES)).toBe(true);
    expect(rows.every((row) => /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/.test(row.id))).toBe(true);
    expect(new Set(rows.map((row) => row.sha256)).size).toBe(rows.length);
    expect(new ImagePlan(tree, spec.seed).row(123)).toEqual(rows[123]);
    // Most images sit on a few well-photographed genera: far fewer distinct species than images.
    expect(new Set(rows.map((row) => row.taxonId)).size).toBeLessThan(rows.length * 0.9);
  });

  it("gives traits to about 10 % of species and to genera, 2–4 distinct per taxon", () => {
    const species = Array.from(tree.speciesIds).filter((id) => hasTraits(tree, spec, id)).length / tree.speciesIds.length;
    expect(species).toBeGreaterThan(0.07);
    expect(species).toBeLessThan(0.13);
    expect(Array.from(tree.genusIds).some((id) => hasTraits(tree, spec, id))).toBe(true);
    expect(hasTraits(tree, spec, 1)).toBe(false);
    for (const id of tree.genusIds.slice(0, 50)) {
      const traits = traitsOf(spec.seed, id);
      expect(traits.length).toBeGreaterThanOrEqual(2);
      expect(traits.length).toBeLessThanOrEqual(4);
      expect(new Set(traits.map((t) => `${t.source}/${t.name}`)).size).toBe(traits.length);
      expect(traits.every((t) => (t.numericValue === null) !== (t.textValue === null))).toBe(true);
    }
  });

  it("makes synonyms only for species, never equal to the accepted name", () => {
    const synonyms = Array.from(tree.speciesIds).map((id) => [id, synonymOf(tree, spec.seed, id)] as const).filter(([, s]) => s !== null);
    expect(synonyms.length).toBeGreaterThan(0);
    expect(synonyms.every(([id, s]) => s !== tree.scientificName[id])).toBe(true);
    expect(synonymOf(tree, spec.seed, tree.genusIds[0]!)).toBeNull();
    expect(tree.rank[tree.genusIds[0]!]).toBe(GENUS);
  });

  it("escapes COPY text fields", () => {
    expect(copyField(null)).toBe("\\N");
    expect(copyField(12.5)).toBe("12.5");
    expect(copyField("a\tb\nc\\d\re")).toBe("a\\tb\\nc\\\\d\\re");
  });
});
