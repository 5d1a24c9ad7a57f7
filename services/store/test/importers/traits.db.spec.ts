import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { importTaxa, importTraits, ImportAbortedError } from "../../src/importers/index.ts";
import type { Pool } from "../../src/index.ts";
import { counts, fixture, openTestDatabase, resetStore, silentLog, snapshot, type TestDatabase } from "./helpers.ts";

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
  await importTaxa("taxa-lineage", fixture("trait-species.csv"), { pool, log: silentLog });
  // An older name of the Eurasian Sparrowhawk, as a DwC-A synonym would leave it.
  await pool.query(
    `INSERT INTO taxon_name (taxon_id, name, kind) SELECT id, 'Astur nisus', 'synonym' FROM taxon WHERE scientific_name = 'Accipiter nisus'`,
  );
});

async function traitsOf(species: string) {
  const { rows } = await pool.query(
    `SELECT r.name, r.numeric_value, r.text_value, r.unit, r.source, r.reference FROM trait r JOIN taxon t ON t.id = r.taxon_id
      WHERE t.scientific_name = $1 ORDER BY r.name`,
    [species],
  );
  return rows;
}

describe("traits-avonet", () => {
  it("matches species by name and synonym, keeps units, codes with labels, and counts the unmatched", async () => {
    const unmatchedOut = join(tmpdir(), `avonet-unmatched-${process.pid}.tsv`);
    const outcome = await importTraits("traits-avonet", fixture("avonet-mini.csv"), { pool, log: silentLog, unmatchedOut });
    expect(outcome.stats).toMatchObject({ matched: 3, unmatched: 1 });
    expect(await readFile(unmatchedOut, "utf8")).toBe("line\tspecies\n5\tNonexistus avis\n");
    const shikra = await traitsOf("Accipiter badius");
    expect(shikra.find((t) => t.name === "Mass")).toMatchObject({ numeric_value: 131.2, unit: "g", source: "AVONET" });
    expect(shikra.find((t) => t.name === "Beak.Length_Culmen")).toMatchObject({ numeric_value: 20.6, unit: "mm" });
    expect(shikra.find((t) => t.name === "Migration")).toMatchObject({ numeric_value: 3, text_value: "migratory", unit: null });
    expect(shikra.find((t) => t.name === "Trophic.Niche")).toMatchObject({ numeric_value: null, text_value: "Vertivore" });
    expect(shikra[0].reference).toContain("Tobias");
    // Matched through the synonym "Astur nisus".
    expect((await traitsOf("Accipiter nisus")).find((t) => t.name === "Mass")).toMatchObject({ numeric_value: 131.2 });
    expect(await traitsOf("Accipiter albogularis")).toHaveLength(shikra.length);
  });

  it("rejects a non-numeric value with file, line and column, writing nothing", async () => {
    const before = await snapshot(pool);
    const error = await importTraits("traits-avonet", fixture("avonet-bad.csv"), { pool, log: silentLog }).catch((e) => e);
    expect(error).toBeInstanceOf(ImportAbortedError);
    expect((error as ImportAbortedError).errors[0]).toMatchObject({ file: "avonet-bad.csv", line: 3, field: "Mass" });
    expect(await snapshot(pool)).toEqual(before);
  });

  it("is idempotent when forced", async () => {
    await importTraits("traits-avonet", fixture("avonet-mini.csv"), { pool, log: silentLog });
    const before = await snapshot(pool);
    const again = await importTraits("traits-avonet", fixture("avonet-mini.csv"), { pool, log: silentLog, force: true });
    expect(again.stats).toMatchObject({ matched: 3, unmatched: 1, traitRowsWritten: 0 });
    expect(await snapshot(pool)).toEqual(before);
  });
});

describe("traits-pantheria and traits-anage", () => {
  it("reads PanTHERIA units from column names and skips -999", async () => {
    const outcome = await importTraits("traits-pantheria", fixture("pantheria-mini.tsv"), { pool, log: silentLog });
    expect(outcome.stats).toMatchObject({ matched: 2, unmatched: 1 });
    const camel = await traitsOf("Camelus dromedarius");
    expect(camel.find((t) => t.name === "AdultBodyMass")).toMatchObject({ numeric_value: 492714.47, unit: "g", source: "PanTHERIA" });
    expect(camel.find((t) => t.name === "MaxLongevity")).toMatchObject({ numeric_value: 480, unit: "months" });
    expect(camel.find((t) => t.name === "ActivityCycle")).toMatchObject({ numeric_value: 3, text_value: "diurnal only" });
    // The camel's row leaves AgeatEyeOpening empty and its range columns at -999: none stored.
    expect(camel.find((t) => t.name === "AgeatEyeOpening")).toBeUndefined();
    expect(camel.find((t) => t.name === "GR_Area")).toBeUndefined();
    expect((await traitsOf("Canis adustus")).find((t) => t.name === "GR_MaxLat")).toMatchObject({ numeric_value: 16.72, unit: "deg" });
  });

  it("reads AnAge's units in parentheses and its categorical columns", async () => {
    const outcome = await importTraits("traits-anage", fixture("anage-mini.tsv"), { pool, log: silentLog });
    expect(outcome.stats).toMatchObject({ matched: 2, unmatched: 0 });
    const fly = await traitsOf("Drosophila melanogaster");
    expect(fly.find((t) => t.name === "Maximum longevity")).toMatchObject({ numeric_value: 0.3, unit: "yrs", source: "AnAge" });
    expect(fly.find((t) => t.name === "Female maturity")).toMatchObject({ numeric_value: 7, unit: "days" });
    expect(fly.find((t) => t.name === "Data quality")).toMatchObject({ text_value: "acceptable", numeric_value: null });
    expect((await counts(pool)).trait).toBeGreaterThan(8);
  });
});
