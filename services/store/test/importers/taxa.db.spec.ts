import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { importTaxa, ImportAbortedError, ImportRowError } from "../../src/importers/index.ts";
import type { Pool } from "../../src/index.ts";
import { counts, fixture, openTestDatabase, resetStore, silentLog, snapshot, treeInvariantViolations, treePaths, type TestDatabase } from "./helpers.ts";

let db: TestDatabase;
let pool: Pool;

beforeAll(async () => {
  db = await openTestDatabase();
  pool = db.store.pool;
});
afterAll(async () => {
  await db?.close();
});
beforeEach(async () => {
  await resetStore(pool);
});

async function taxonByName(name: string) {
  const { rows } = await pool.query(
    `SELECT t.*, p.scientific_name AS parent_name FROM taxon t LEFT JOIN taxon p ON p.id = t.parent_id WHERE t.scientific_name = $1`,
    [name],
  );
  return rows;
}

describe("taxa-parent-child", () => {
  it("builds the tree when parents come after their children, with names and external ids", async () => {
    const outcome = await importTaxa("taxa-parent-child", fixture("parent-child.csv"), { pool, log: silentLog, allowUnnamed: true, batchSize: 4 });
    expect(outcome.rows).toBe(13);
    expect(outcome.stats.inserted).toBe(12);
    expect(await treePaths(pool)).toContain(
      "kingdom:Animalia > phylum:Chordata > class:Mammalia > order:Carnivora > family:Felidae > genus:Panthera > species:Panthera leo",
    );
    // The unnamed placeholder passes its children on to its own parent.
    expect((await taxonByName("Insecta"))[0]).toMatchObject({ parent_name: "Animalia", depth: 1 });
    expect((await taxonByName("Panthera"))[0]).toMatchObject({ child_count: 2, depth: 5 });
    expect((await taxonByName("Animalia"))[0]).toMatchObject({ child_count: 2, common_name: "Animals" });
    expect(await treeInvariantViolations(pool)).toBe(0);
    const { rows: ids } = await pool.query(
      `SELECT x.external_id, t.scientific_name FROM taxon_external_id x JOIN taxon t ON t.id = x.taxon_id WHERE x.source = 'inaturalist' ORDER BY x.external_id::int`,
    );
    expect(ids).toHaveLength(12);
    expect(ids.find((row) => row.external_id === "7")).toMatchObject({ scientific_name: "Panthera leo" });
    const { rows: names } = await pool.query(
      `SELECT n.kind, n.language, n.is_preferred FROM taxon_name n JOIN taxon t ON t.id = n.taxon_id WHERE t.scientific_name = 'Panthera leo' ORDER BY n.kind`,
    );
    expect(names).toEqual([
      { kind: "scientific", language: null, is_preferred: true },
      { kind: "vernacular", language: "en", is_preferred: true },
    ]);
    const { rows: staging } = await pool.query(`SELECT count(*)::int AS n FROM import_taxon_staging`);
    expect(staging[0].n).toBe(0);
  });

  it("is idempotent: a second run skips the file, a forced one changes nothing", async () => {
    await importTaxa("taxa-parent-child", fixture("parent-child.csv"), { pool, log: silentLog, allowUnnamed: true });
    const before = await snapshot(pool);
    const again = await importTaxa("taxa-parent-child", fixture("parent-child.csv"), { pool, log: silentLog, allowUnnamed: true });
    expect(again.alreadyDone).toBe(true);
    const forced = await importTaxa("taxa-parent-child", fixture("parent-child.csv"), { pool, log: silentLog, allowUnnamed: true, force: true });
    expect(forced.alreadyDone).toBe(false);
    expect(forced.stats).toMatchObject({ inserted: 0, merged: 12, reparented: 0 });
    expect(await snapshot(pool)).toEqual(before);
  });

  it("resumes after a failure between batches and ends as an uninterrupted import", async () => {
    const options = { pool, log: silentLog, allowUnnamed: true, batchSize: 3 };
    await expect(
      importTaxa("taxa-parent-child", fixture("parent-child.csv"), {
        ...options,
        afterBatch: (batch) => {
          if (batch === 2) throw new Error("injected crash");
        },
      }),
    ).rejects.toThrow("injected crash");
    const { rows } = await pool.query(`SELECT rows_done, completed FROM import_checkpoint WHERE kind = 'taxa-parent-child'`);
    expect(rows).toEqual([{ rows_done: 6, completed: false }]);
    // Staged rows only: the tree is written by the final resolution.
    expect((await counts(pool)).taxon).toBe(0);
    const resumed = await importTaxa("taxa-parent-child", fixture("parent-child.csv"), options);
    expect(resumed.resumedFrom).toBe(6);
    expect(resumed.stats).toMatchObject({ staged: 13, inserted: 12 });
    const afterResume = await treePaths(pool);
    await resetStore(pool);
    await importTaxa("taxa-parent-child", fixture("parent-child.csv"), options);
    expect(afterResume).toEqual(await treePaths(pool));
  });

  it("rejects an unknown rank level with file, line and field, writing nothing", async () => {
    const error = await importTaxa("taxa-parent-child", fixture("parent-child-bad-rank.csv"), { pool, log: silentLog, allowUnnamed: true }).catch((e) => e);
    expect(error).toBeInstanceOf(ImportAbortedError);
    const row = (error as ImportAbortedError).errors[0]!;
    expect(row).toBeInstanceOf(ImportRowError);
    expect(row).toMatchObject({ file: "parent-child-bad-rank.csv", line: 6, field: "rank_level" });
    expect(row.message).toContain("99");
    expect(Object.values(await counts(pool)).every((n) => n === 0)).toBe(true);
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM import_checkpoint`);
    expect(rows[0].n).toBe(0);
  });

  it("rejects an unnamed row unless --allow-unnamed, and --max-errors skips and reports it", async () => {
    const error = await importTaxa("taxa-parent-child", fixture("parent-child.csv"), { pool, log: silentLog }).catch((e) => e);
    expect(error).toBeInstanceOf(ImportAbortedError);
    expect((error as ImportAbortedError).errors[0]).toMatchObject({ file: "parent-child.csv", line: 13, field: "name" });
    expect((await counts(pool)).taxon).toBe(0);
    // Skipping the placeholder orphans its child (Insecta): two bad rows in all.
    const outcome = await importTaxa("taxa-parent-child", fixture("parent-child.csv"), { pool, log: silentLog, maxErrors: 2 });
    expect(outcome.badRows.map((row) => row.line)).toEqual([13]);
    expect(outcome.stats).toMatchObject({ inserted: 11, unresolved: 1 });
  });

  it("rejects a repeated taxon id within a batch with both lines, writing nothing", async () => {
    const error = await importTaxa("taxa-parent-child", fixture("parent-child-duplicate.csv"), { pool, log: silentLog }).catch((e) => e);
    expect(error).toBeInstanceOf(ImportAbortedError);
    const row = (error as ImportAbortedError).errors[0]!;
    expect(row).toBeInstanceOf(ImportRowError);
    expect(row).toMatchObject({ file: "parent-child-duplicate.csv", line: 6, field: "taxon_id" });
    expect(row.message).toContain('duplicate id "2" (first on line 3)');
    const { rows } = await pool.query(`SELECT (SELECT count(*) FROM import_taxon_staging)::int AS staged, (SELECT count(*) FROM import_checkpoint)::int AS checkpoints`);
    expect(rows[0]).toEqual({ staged: 0, checkpoints: 0 });
  });

  it("rejects a taxon id repeated in a later batch, keeping the batches committed before it", async () => {
    const error = await importTaxa("taxa-parent-child", fixture("parent-child-duplicate.csv"), { pool, log: silentLog, batchSize: 2 }).catch((e) => e);
    expect(error).toBeInstanceOf(ImportAbortedError);
    expect((error as ImportAbortedError).errors[0]).toMatchObject({ file: "parent-child-duplicate.csv", line: 6, field: "taxon_id" });
    expect((error as ImportAbortedError).errors[0]!.message).toContain("(first on line 3)");
    const { rows } = await pool.query(`SELECT rows_done, completed FROM import_checkpoint WHERE kind = 'taxa-parent-child'`);
    expect(rows).toEqual([{ rows_done: 4, completed: false }]);
    const { rows: staged } = await pool.query(`SELECT count(*)::int AS n FROM import_taxon_staging`);
    expect(staged[0].n).toBe(4);
    expect((await counts(pool)).taxon).toBe(0);
  });

  it("gives two ids of one name the taxon that moved under their new parent, and its children", async () => {
    await importTaxa("taxa-parent-child", fixture("parent-child-genus-under-kingdom.csv"), { pool, log: silentLog });
    // Both Panthera rows claim the existing genus, which moves under Felidae; the second meets it on conflict.
    const outcome = await importTaxa("taxa-parent-child", fixture("parent-child-genus-twice.csv"), { pool, log: silentLog });
    expect(outcome.stats).toMatchObject({ inserted: 2, reparented: 1, unresolved: 0 });
    expect(await treePaths(pool)).toEqual([
      "kingdom:Animalia",
      "kingdom:Animalia > family:Felidae",
      "kingdom:Animalia > family:Felidae > genus:Panthera",
      "kingdom:Animalia > family:Felidae > genus:Panthera > species:Panthera leo",
    ]);
    expect(await treeInvariantViolations(pool)).toBe(0);
    const { rows } = await pool.query(
      `SELECT x.external_id FROM taxon_external_id x JOIN taxon t ON t.id = x.taxon_id WHERE t.scientific_name = 'Panthera' ORDER BY 1`,
    );
    expect(rows.map((row) => row.external_id)).toEqual(["2", "4", "5"]);
  });

  it("reports orphans by line and counts them against --max-errors", async () => {
    const error = await importTaxa("taxa-parent-child", fixture("parent-child-orphan.csv"), { pool, log: silentLog }).catch((e) => e);
    expect(error).toBeInstanceOf(ImportAbortedError);
    expect((error as ImportAbortedError).errors[0]).toMatchObject({ line: 5, field: "parent_taxon_id" });
    expect((await counts(pool)).taxon).toBe(0);
    const outcome = await importTaxa("taxa-parent-child", fixture("parent-child-orphan.csv"), { pool, log: silentLog, maxErrors: 1 });
    // Carnivora is the orphan; Felidae below it stays unresolved too.
    expect(outcome.stats).toMatchObject({ inserted: 3, unresolved: 2 });
  });
});

describe("taxa-lineage", () => {
  const expectedPaths = [
    "kingdom:Animalia",
    "kingdom:Animalia > phylum:Chordata",
    "kingdom:Animalia > phylum:Chordata > class:Mammalia",
    "kingdom:Animalia > phylum:Chordata > class:Mammalia > order:Carnivora",
    "kingdom:Animalia > phylum:Chordata > class:Mammalia > order:Carnivora > family:Felidae",
    "kingdom:Animalia > phylum:Chordata > class:Mammalia > order:Carnivora > family:Felidae > genus:Panthera",
    "kingdom:Animalia > phylum:Chordata > class:Mammalia > order:Carnivora > family:Felidae > genus:Panthera > species:Panthera leo",
    "kingdom:Animalia > phylum:Chordata > class:Mammalia > order:Carnivora > family:Felidae > genus:Panthera > species:Panthera onca",
    "kingdom:Animalia > phylum:Chordata > class:Mammalia > order:Carnivora > family:Felidae > genus:Panthera > species:Panthera pardus",
  ];

  it("merges two sources that skip different ranks into one tree, in either order", async () => {
    const a = await importTaxa("taxa-lineage", fixture("lineage-a.csv"), { pool, log: silentLog });
    expect(a.stats.inserted).toBe(7);
    const b = await importTaxa("taxa-lineage", fixture("lineage-b.csv"), { pool, log: silentLog });
    expect(b.stats).toMatchObject({ inserted: 2, reparented: 1 });
    expect(await treePaths(pool)).toEqual(expectedPaths);
    expect(await treeInvariantViolations(pool)).toBe(0);
    // The first source's common name stays preferred; the second's becomes another vernacular name.
    expect((await taxonByName("Panthera leo"))[0].common_name).toBe("Lion");
    const { rows } = await pool.query(
      `SELECT name, is_preferred FROM taxon_name WHERE kind = 'vernacular' AND taxon_id = (SELECT id FROM taxon WHERE scientific_name = 'Panthera leo') ORDER BY name`,
    );
    expect(rows).toEqual([{ name: "African Lion", is_preferred: false }, { name: "Lion", is_preferred: true }]);

    await resetStore(pool);
    await importTaxa("taxa-lineage", fixture("lineage-b.csv"), { pool, log: silentLog });
    const reversed = await importTaxa("taxa-lineage", fixture("lineage-a.csv"), { pool, log: silentLog });
    expect(reversed.stats).toMatchObject({ inserted: 2, reparented: 1 });
    expect(await treePaths(pool)).toEqual(expectedPaths);
    expect(await treeInvariantViolations(pool)).toBe(0);
  });

  it("normalises MDD rows: underscores, upper-case orders, authorship, other common names, ids", async () => {
    await importTaxa("taxa-lineage", fixture("lineage-mdd.csv"), { pool, log: silentLog, source: "mdd", idColumn: "id" });
    const [lion] = await taxonByName("Panthera leo");
    expect(lion).toMatchObject({ authorship: "Linnaeus, 1758", common_name: "Lion", parent_name: "Panthera" });
    expect((await taxonByName("Carnivora"))[0]).toBeDefined();
    expect(await taxonByName("CARNIVORA")).toHaveLength(0);
    const { rows } = await pool.query(
      `SELECT n.name FROM taxon_name n WHERE n.taxon_id = $1 AND n.kind = 'vernacular' AND NOT n.is_preferred ORDER BY n.name`,
      [lion.id],
    );
    expect(rows.map((row) => row.name)).toEqual(["African Lion", "King of Beasts"]);
    const { rows: ids } = await pool.query(`SELECT external_id, taxon_id FROM taxon_external_id WHERE source = 'mdd' ORDER BY external_id`);
    expect(ids).toEqual([{ external_id: "1001", taxon_id: lion.id }, expect.objectContaining({ external_id: "1002" })]);
  });

  it("rejects an epithet without a genus, naming the column", async () => {
    const error = await importTaxa("taxa-lineage", fixture("lineage-bad-epithet.csv"), { pool, log: silentLog }).catch((e) => e);
    expect(error).toBeInstanceOf(ImportAbortedError);
    expect((error as ImportAbortedError).errors[0]).toMatchObject({ file: "lineage-bad-epithet.csv", line: 2, field: "species_epithet" });
    expect((await counts(pool)).taxon).toBe(0);
  });

  it("is idempotent when forced", async () => {
    await importTaxa("taxa-lineage", fixture("lineage-a.csv"), { pool, log: silentLog });
    await importTaxa("taxa-lineage", fixture("lineage-b.csv"), { pool, log: silentLog });
    const before = await snapshot(pool);
    await importTaxa("taxa-lineage", fixture("lineage-a.csv"), { pool, log: silentLog, force: true });
    await importTaxa("taxa-lineage", fixture("lineage-b.csv"), { pool, log: silentLog, force: true });
    expect(await snapshot(pool)).toEqual(before);
  });
});
