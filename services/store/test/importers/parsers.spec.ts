import { describe, expect, it } from "vitest";
import { buildLineageNodes } from "../../src/importers/lineage.ts";
import { normaliseHigherName, normaliseSpeciesName } from "../../src/importers/names.ts";
import { parseParentChild } from "../../src/importers/parent-child.parser.ts";
import { INAT_RANK_LEVELS, parseRank } from "../../src/importers/ranks.ts";
import { PANTHERIA } from "../../src/importers/trait-datasets.ts";
import { fixture } from "./helpers.ts";

describe("names and ranks", () => {
  it("normalises names the way the sources spell them", () => {
    expect(normaliseHigherName("MONOTREMATA")).toBe("Monotremata");
    expect(normaliseHigherName("aves")).toBe("Aves");
    expect(normaliseHigherName("McCoyella")).toBe("McCoyella");
    expect(normaliseHigherName("incertae sedis")).toBe("");
    expect(normaliseSpeciesName("Ornithorhynchus_anatinus")).toBe("Ornithorhynchus anatinus");
    expect(normaliseSpeciesName("leo", "PANTHERA")).toBe("Panthera leo");
    expect(normaliseSpeciesName("Puma concolor subsp. couguar")).toBe("Puma concolor subsp. couguar");
  });

  it("maps iNaturalist rank levels and rank spellings", () => {
    expect([70, 57, 53, 47, 43, 37, 33, 27, 25, 15, 5].map((level) => INAT_RANK_LEVELS.get(level))).toEqual([
      "kingdom", "subphylum", "superclass", "subclass", "superorder", "suborder", "superfamily", "subfamily", "tribe", "subgenus", "subspecies",
    ]);
    expect(INAT_RANK_LEVELS.get(13)).toBeUndefined();
    expect(parseRank("Species")).toBe("species");
    expect(parseRank("ssp.")).toBe("subspecies");
    expect(parseRank("unranked")).toBeNull();
  });
});

describe("lineage keys", () => {
  it("skips empty ranks and keys each node by its path", () => {
    const result = buildLineageNodes({ kingdom: "Animalia", phylum: "Chordata", class: "", order: "Carnivora", species: "Panthera leo" }, 7, { commonName: "Lion" });
    expect(result.nodes!.map((node) => [node.sourceKey, node.parentSourceKey, node.rank, node.commonName])).toEqual([
      ["kingdom=Animalia", null, "kingdom", null],
      ["kingdom=Animalia|phylum=Chordata", "kingdom=Animalia", "phylum", null],
      ["kingdom=Animalia|phylum=Chordata|order=Carnivora", "kingdom=Animalia|phylum=Chordata", "order", null],
      ["kingdom=Animalia|phylum=Chordata|order=Carnivora|species=Panthera leo", "kingdom=Animalia|phylum=Chordata|order=Carnivora", "species", "Lion"],
    ]);
    expect(buildLineageNodes({}, 1)).toEqual({ nodes: [], leafKey: null });
    expect(buildLineageNodes({ family: "Felidae", species: "leo" }, 1).error).toMatchObject({ field: "species" });
  });
});

describe("parsers", () => {
  it("reads a parent/child file as a stream of nodes with their lines", async () => {
    const items = [];
    for await (const item of parseParentChild(fixture("parent-child.csv"), { allowUnnamed: true })) items.push(item);
    expect(items).toHaveLength(13);
    expect(items[0]).toMatchObject({ index: 0, line: 2, value: { nodes: [{ sourceKey: "4", parentSourceKey: "3", rank: "order", scientificName: "Carnivora", commonName: "Carnivorans" }] } });
    expect(items[11]!.value!.nodes[0]).toMatchObject({ sourceKey: "X1", scientificName: null, externalId: null });
  });

  it("derives PanTHERIA trait names and units from the column names", () => {
    const columns = PANTHERIA.columns(["MSW05_Binomial", "5-1_AdultBodyMass_g", "17-1_MaxLongevity_m", "22-2_HomeRange_Indiv_km2", "21-1_PopulationDensity_n/km2", "28-2_Temp_Mean_01degC", "5-5_AdultBodyMass_g_EXT", "27-4_HuPopDen_Change", "6-2_TrophicLevel", "References"]);
    expect(columns.map((c) => [c.name, c.unit, c.kind])).toEqual([
      ["AdultBodyMass", "g", "numeric"],
      ["MaxLongevity", "months", "numeric"],
      ["HomeRange_Indiv", "km2", "numeric"],
      ["PopulationDensity", "n/km2", "numeric"],
      ["Temp_Mean", "0.1 °C", "numeric"],
      ["AdultBodyMass_EXT", "g", "numeric"],
      ["HuPopDen_Change", null, "numeric"],
      ["TrophicLevel", null, "coded"],
    ]);
  });
});
