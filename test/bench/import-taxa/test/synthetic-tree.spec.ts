import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseLineage } from "@arbor/store/importers/lineage.parser.ts";
import { parseParentChild } from "@arbor/store/importers/parent-child.parser.ts";
import { writeLineageCsv, writeParentChildCsv } from "../csv-files.ts";
import { describeTree, RANKS, SPECIES_DEPTH, syntheticTree } from "../synthetic-tree.ts";

const ROWS = 30_000;

describe("syntheticTree", () => {
  // lineage is shared between rows: copy it as each row is produced.
  const rows = Array.from(syntheticTree(ROWS, 7), (row) => ({ ...row, lineage: [...row.lineage] }));

  it("has exactly the requested rows, with ids a permutation of 1..rows", () => {
    expect(rows).toHaveLength(ROWS);
    const ids = new Set(rows.map((row) => row.id));
    expect(ids.size).toBe(ROWS);
    expect(Math.min(...ids)).toBe(1);
    expect(Math.max(...ids)).toBe(ROWS);
  });

  it("lists every parent before its children, one rank above them", () => {
    const depthOf = new Map<number, number>();
    for (const row of rows) {
      if (row.parentId === null) expect(row.depth).toBe(0);
      else expect(depthOf.get(row.parentId)).toBe(row.depth - 1);
      depthOf.set(row.id, row.depth);
    }
    expect(rows.filter((row) => row.depth === 0).map((row) => row.name)).toEqual(["Animalia", "Plantae", "Fungi", "Chromista", "Protozoa"]);
  });

  it("gives names unique within each rank, binomials under their genus", () => {
    for (let depth = 0; depth < RANKS.length; depth++) {
      const names = rows.filter((row) => row.depth === depth).map((row) => row.name);
      expect(new Set(names).size).toBe(names.length);
    }
    for (const row of rows.filter((r) => r.depth === SPECIES_DEPTH)) {
      expect(row.name.startsWith(`${row.lineage[SPECIES_DEPTH - 1]} `)).toBe(true);
      expect(row.name).toMatch(/^[A-Z][a-z]+ [a-z]+$/);
    }
  });

  it("is deterministic for a seed and differs across seeds", () => {
    const text = (seed: number) => [...syntheticTree(ROWS, seed)].map((row) => `${row.id},${row.parentId},${row.name}`);
    const again = text(7);
    expect(again).toEqual(rows.map((row) => `${row.id},${row.parentId},${row.name}`));
    expect(text(8)).not.toEqual(again);
  });

  it("keeps genera within 5–60 species", () => {
    const shape = describeTree(ROWS, 7);
    expect(shape.speciesPerGenus.min).toBeGreaterThanOrEqual(5);
    expect(shape.speciesPerGenus.max).toBeLessThanOrEqual(60);
    expect(Object.values(shape.byRank).reduce((a, b) => a + b, 0)).toBe(ROWS);
  });
});

describe("CSV files", () => {
  const dir = mkdtempSync(join(tmpdir(), "import-taxa-spec-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("parent/child CSV passes the store's own parser without a bad row", async () => {
    const file = await writeParentChildCsv(join(dir, "taxa.csv"), 5_000, 3);
    let rows = 0;
    const ranks = new Map<string, number>();
    for await (const item of parseParentChild(file.path)) {
      expect(item.error).toBeUndefined();
      rows++;
      const rank = item.value!.nodes[0]!.rank!;
      ranks.set(rank, (ranks.get(rank) ?? 0) + 1);
    }
    expect(rows).toBe(5_000);
    expect(file.rows).toBe(5_000);
    expect([...ranks.keys()].sort()).toEqual(RANKS.map((r) => r.rank).sort());
  });

  it("lineage CSV holds one row per species and passes the store's parser", async () => {
    const species = [...syntheticTree(5_000, 3)].filter((row) => row.depth === SPECIES_DEPTH).length;
    const file = await writeLineageCsv(join(dir, "lineage.csv"), 5_000, 3);
    expect(file.rows).toBe(species);
    let rows = 0;
    for await (const item of parseLineage(file.path)) {
      expect(item.error).toBeUndefined();
      expect(item.value!.nodes).toHaveLength(7);
      rows++;
    }
    expect(rows).toBe(species);
  });
});
