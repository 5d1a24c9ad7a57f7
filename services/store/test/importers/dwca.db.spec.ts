import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { importTaxa, ImportAbortedError, ImportFileError } from "../../src/importers/index.ts";
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

async function namesOf(scientificName: string) {
  const { rows } = await pool.query(
    `SELECT n.name, n.kind, n.language, n.is_preferred FROM taxon_name n JOIN taxon t ON t.id = n.taxon_id
      WHERE t.scientific_name = $1 ORDER BY n.kind, n.name`,
    [scientificName],
  );
  return rows;
}

describe.each([
  ["directory", "dwca-felids"],
  ["zip", "dwca-felids.zip"],
])("taxa-dwca from a %s", (_, input) => {
  it("reads meta.xml, turns synonyms into names of the accepted taxon and adds vernacular names", async () => {
    const outcome = await importTaxa("taxa-dwca", fixture(input), { pool, log: silentLog, source: "gbif" });
    // 12 core rows (10 accepted, 2 synonyms) + 5 vernacular rows.
    expect(outcome.rows).toBe(17);
    expect(outcome.stats).toMatchObject({ inserted: 10, synonyms: 2, unresolved: 0 });
    expect(await treePaths(pool)).toContain(
      "kingdom:Animalia > phylum:Chordata > class:Mammalia > order:Carnivora > family:Felidae > genus:Puma > species:Puma concolor > subspecies:Puma concolor couguar",
    );
    expect(await treeInvariantViolations(pool)).toBe(0);
    const { rows } = await pool.query(`SELECT scientific_name, authorship, common_name FROM taxon WHERE scientific_name = 'Puma concolor'`);
    expect(rows).toEqual([{ scientific_name: "Puma concolor", authorship: "(Linnaeus, 1771)", common_name: "Cougar" }]);
    expect(await namesOf("Puma concolor")).toEqual([
      { name: "Puma concolor", kind: "scientific", language: null, is_preferred: true },
      { name: "Felis concolor", kind: "synonym", language: null, is_preferred: false },
      { name: "Felis couguar", kind: "synonym", language: null, is_preferred: false },
      { name: "Cougar", kind: "vernacular", language: "en", is_preferred: true },
      { name: "Mountain lion", kind: "vernacular", language: "en", is_preferred: false },
      { name: "Panther", kind: "vernacular", language: "en", is_preferred: false },
      { name: "Puma", kind: "vernacular", language: "es", is_preferred: false },
    ]);
    // A synonym's id leads to its accepted taxon.
    const { rows: ids } = await pool.query(
      `SELECT t.scientific_name FROM taxon_external_id x JOIN taxon t ON t.id = x.taxon_id WHERE x.source = 'gbif' AND x.external_id = '2435104'`,
    );
    expect(ids).toEqual([{ scientific_name: "Puma concolor" }]);
    expect((await counts(pool)).taxon).toBe(10);
  });

  it("is idempotent when forced", async () => {
    await importTaxa("taxa-dwca", fixture(input), { pool, log: silentLog });
    const before = await snapshot(pool);
    await importTaxa("taxa-dwca", fixture(input), { pool, log: silentLog, force: true });
    expect(await snapshot(pool)).toEqual(before);
  });
});

describe("taxa-dwca errors", () => {
  it("names the core file, line and term of a bad rank", async () => {
    const error = await importTaxa("taxa-dwca", fixture("dwca-bad"), { pool, log: silentLog }).catch((e) => e);
    expect(error).toBeInstanceOf(ImportAbortedError);
    expect((error as ImportAbortedError).errors[0]).toMatchObject({ file: "dwca-bad/taxon.txt", line: 4, field: "taxonRank" });
    expect((await counts(pool)).taxon).toBe(0);
  });

  it("refuses an input without meta.xml", async () => {
    await expect(importTaxa("taxa-dwca", fixture("lineage-a.csv"), { pool, log: silentLog })).rejects.toBeInstanceOf(ImportFileError);
  });
});
