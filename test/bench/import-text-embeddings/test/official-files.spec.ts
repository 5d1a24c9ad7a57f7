import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { OfficialSpeciesEmbeddings } from "@arbor/inference/classify/official/official-species-embeddings.ts";
import { officialFilesDir, readMatchingManifest, writeOfficialFiles, type OfficialFilesParameters } from "../official-files.ts";
import { speciesVector, syntheticSpecies } from "../synthetic-species.ts";

const bytesOf = (vector: Float32Array) => Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);

const root = mkdtempSync(join(tmpdir(), "arbor-text-emb-files-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// More than one 4096-column block, and a partial last block.
const params: OfficialFilesParameters = { species: 5_000, paddingColumns: 37, seed: 9, dim: 768 };
const progress: number[] = [];
const manifest = writeOfficialFiles(officialFilesDir(root, params), params, (done) => progress.push(done));

describe("syntheticSpecies", () => {
  it("yields exactly the requested species, in column order, with unique binomials and every kingdom", () => {
    for (const species of [1, 57, 20_000]) {
      const labels = [...syntheticSpecies(species, 3)];
      expect(labels.map((label) => label.column)).toEqual(labels.map((_, i) => i));
      expect(new Set(labels.map((label) => `${label.lineage[5]} ${label.lineage[6]}`)).size).toBe(species);
      if (species === 20_000) {
        expect(new Set(labels.map((label) => label.lineage[0]))).toEqual(new Set(["Animalia", "Plantae", "Fungi", "Chromista", "Protozoa"]));
        const named = labels.filter((label) => label.commonName !== "").length / species;
        expect(named).toBeGreaterThan(0.27);
        expect(named).toBeLessThan(0.33);
      }
    }
  });

  it("gives unit vectors that depend only on (seed, column)", () => {
    const a = speciesVector(1, 10, new Float32Array(768));
    const b = speciesVector(1, 10, new Float32Array(768));
    const c = speciesVector(1, 11, new Float32Array(768));
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    expect(Math.hypot(...a)).toBeCloseTo(1, 6);
  });
});

describe("writeOfficialFiles", () => {
  it("writes files the official reader accepts: shape, padding, labels and vectors", async () => {
    expect(progress.at(-1)).toBe(params.species);
    const files = await OfficialSpeciesEmbeddings.open(manifest.npyPath, manifest.jsonPath, { dim: 768 });
    try {
      expect(files.layout).toEqual({ dim: 768, columns: 5_037, labels: 5_000, paddingColumns: 37, npyVersion: [1, 0], fortranOrder: false });
      const expected = syntheticSpecies(params.species, params.seed);
      const vector = new Float32Array(768);
      let count = 0;
      for await (const species of files.stream()) {
        const label = expected.next().value!;
        expect(species.column).toBe(count++);
        expect(species.lineage).toEqual(label.lineage);
        expect(species.commonName).toBe(label.commonName);
        speciesVector(params.seed, species.column, vector);
        if (!bytesOf(species.embedding).equals(bytesOf(vector))) expect.fail(`column ${species.column}: vector differs from the generator's`);
        const norm = Math.sqrt(species.embedding.reduce((sum, v) => sum + v * v, 0));
        if (Math.abs(norm - 1) > 1e-6) expect.fail(`column ${species.column}: norm ${norm}`);
      }
      expect(count).toBe(params.species);
      expect(files.emptyColumns).toEqual([]);
    } finally {
      await files.close();
    }
  });

  it("lays the matrix out in C order after a 64-byte aligned header, and the JSON as json.dump would", () => {
    const bytes = readFileSync(manifest.npyPath);
    expect(bytes.length).toBe(manifest.npyBytes);
    const headerLength = bytes.readUInt16LE(8);
    expect((10 + headerLength) % 64).toBe(0);
    expect(bytes.toString("latin1", 10, 10 + headerLength)).toMatch(/^\{'descr': '<f4', 'fortran_order': False, 'shape': \(768, 5037\), \} *\n$/);
    const element = (r: number, j: number) => bytes.readFloatLE(10 + headerLength + (r * 5_037 + j) * 4);
    const v4100 = speciesVector(params.seed, 4_100, new Float32Array(768));
    for (const r of [0, 1, 500, 767]) expect(element(r, 4_100)).toBe(v4100[r]);
    for (const j of [5_000, 5_020, 5_036]) expect(element(767, j)).toBe(0);

    const text = readFileSync(manifest.jsonPath, "utf8");
    expect(text.startsWith('[[["')).toBe(true);
    expect(text).toContain('"], ""], [["');
    const rows = JSON.parse(text) as Array<[string[], string]>;
    expect(rows).toHaveLength(5_000);
    expect(rows.every(([lineage, common]) => lineage.length === 7 && lineage.every((name) => name !== "") && typeof common === "string")).toBe(true);
    const distinct = (rank: number) => new Set(rows.map(([lineage]) => lineage[rank])).size;
    expect(manifest.byRank).toEqual({ kingdom: distinct(0), phylum: distinct(1), class: distinct(2), order: distinct(3), family: distinct(4), genus: distinct(5), species: 5_000 });
    expect(manifest.commonNames).toBe(rows.filter(([, common]) => common !== "").length);
  });

  it("is reused only for the same parameters", () => {
    const dir = officialFilesDir(root, params);
    expect(readMatchingManifest(dir, params)).toEqual(manifest);
    expect(readMatchingManifest(dir, { ...params, seed: 10 })).toBeUndefined();
    expect(readMatchingManifest(dir, { ...params, paddingColumns: 36 })).toBeUndefined();
  });
});
