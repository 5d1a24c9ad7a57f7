import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeImage, makeTaxon, type MadeTaxon } from "../../../test/factories/taxa.factory.ts";
import { countStatements } from "../../../test/support/sql-counter.ts";
import { openTestDatabase, type TestDatabase } from "../../../test/support/test-database.ts";
import { TaxonPageRepository, type TaxonPage, type TaxonPageInclude } from "../src/index.ts";

/**
 * TaxonPageRepository merges the pages asked for in one turn of the event loop into one statement.
 * The reference for every merged answer is the same page read alone.
 */
describe(`taxon pages read together (${process.env.TEST_DATABASE_URL ? "real PostgreSQL" : "embedded PGlite"})`, () => {
  let db: TestDatabase;
  let genera: MadeTaxon[];

  const FULL: TaxonPageInclude = { ancestors: true, children: { limit: 3, after: null }, traits: true, images: { limit: 2, after: null } };

  beforeAll(async () => {
    db = await openTestDatabase();
    const pool = db.store.pool;
    const modelId = (await db.store.modelVersions.upsert({ name: "pages-test", version: "1", kind: "backbone", isStandIn: true, status: "active" })).id;
    const kingdom = await makeTaxon(pool, "kingdom", "Animalia");
    const family = await makeTaxon(pool, "family", "Corvidae", kingdom, "Crows");
    genera = [];
    for (const name of ["Corvus", "Pica", "Garrulus"]) {
      const genus = await makeTaxon(pool, "genus", name, family);
      genera.push(genus);
      for (let i = 0; i < 4 + genera.length; i++) {
        const species = await makeTaxon(pool, "species", `${name} sp${i}`, genus);
        const image = await makeImage(pool, species.id, modelId, Array.from({ length: 768 }, (_, j) => Math.sin(i + j)));
        await pool.query(`UPDATE image SET created_at = $2 WHERE id = $1`, [image, new Date(Date.UTC(2021, 0, 1 + ((i * 5) % 7)))]);
      }
      await pool.query(`INSERT INTO trait (taxon_id, name, numeric_value, source) VALUES ($1, 'Mass', $2, 'AVONET')`, [genus.id, genera.length]);
    }
  }, 60_000);

  afterAll(async () => {
    await db?.close();
  });

  /** Each page read alone, one after the other. */
  async function alone(repository: TaxonPageRepository, requests: Array<[number, TaxonPageInclude]>): Promise<Array<TaxonPage | null>> {
    const pages = [];
    for (const [id, include] of requests) pages.push(await repository.getById(id, include));
    return pages;
  }

  it("answers pages asked for together in one statement, each as if read alone", async () => {
    const repository = new TaxonPageRepository(db.store.pool);
    const first = await repository.getById(genera[0]!.id, FULL);
    const lastChild = first!.children!.at(-1)!;
    const lastImage = first!.images!.at(-1)!;
    const requests: Array<[number, TaxonPageInclude]> = [
      [genera[0]!.id, FULL],
      [genera[1]!.id, FULL],
      [987_654_321, FULL],
      [genera[0]!.id, { ...FULL, children: { limit: 10, after: { name: lastChild.scientificName, id: lastChild.id } }, images: { limit: 10, after: { createdAt: lastImage.createdAt, id: lastImage.id } } }],
      [genera[2]!.id, FULL],
    ];
    const counter = countStatements();
    let together: Array<TaxonPage | null>;
    try {
      together = await Promise.all(requests.map(([id, include]) => repository.getById(id, include)));
      expect(counter.count()).toBe(1);
    } finally {
      counter.restore();
    }
    expect(together).toEqual(await alone(repository, requests));
    expect(together[2]).toBeNull();
    expect(together.map((page) => page?.taxon.scientificName)).toEqual(["Corvus", "Pica", undefined, "Corvus", "Garrulus"]);
    expect(together[1]!.children!.map((c) => c.scientificName)).toEqual(["Pica sp0", "Pica sp1", "Pica sp2"]);
    expect(together[3]!.children!.map((c) => c.scientificName)).toEqual(["Corvus sp3", "Corvus sp4"]);
    expect(together[1]!.ancestors!.map((a) => a.scientificName)).toEqual(["Animalia", "Corvidae"]);
    expect(together[4]!.traits!.map((t) => t.numericValue)).toEqual([3]);
    expect(together[4]!.images!.every((image) => image.ownerTaxonId === genera[2]!.id && image.createdAt instanceof Date)).toBe(true);
    expect(together[3]!.images!.map((image) => image.id)).not.toContain(lastImage.id);
  });

  it("reads different combinations of relations in one statement each, and at most maxPages pages a statement", async () => {
    const repository = new TaxonPageRepository(db.store.pool, false, { maxPages: 2 });
    const requests: Array<[number, TaxonPageInclude]> = [
      ...genera.map((g): [number, TaxonPageInclude] => [g.id, FULL]),
      ...genera.map((g): [number, TaxonPageInclude] => [g.id, { traits: true }]),
    ];
    const counter = countStatements();
    let together: Array<TaxonPage | null>;
    try {
      together = await Promise.all(requests.map(([id, include]) => repository.getById(id, include)));
      expect(counter.count()).toBe(4); // 3 full pages in 2 statements, 3 traits-only pages in 2
    } finally {
      counter.restore();
    }
    expect(together).toEqual(await alone(repository, requests));
    expect(together[3]).toEqual({ taxon: together[0]!.taxon, traits: together[0]!.traits });
  });

  it("fails only the page that cannot be read when pages are read together", async () => {
    const repository = new TaxonPageRepository(db.store.pool);
    const bad: TaxonPageInclude = { ...FULL, images: { limit: 2, after: { createdAt: new Date(), id: "not-a-uuid" } } };
    const results = await Promise.allSettled([repository.getById(genera[0]!.id, FULL), repository.getById(genera[1]!.id, bad), repository.getById(genera[2]!.id, FULL)]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/uuid/);
    expect((results[2] as PromiseFulfilledResult<TaxonPage>).value.taxon.scientificName).toBe("Garrulus");
  });
});
