import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTaxon, type MadeTaxon } from "../../../test/factories/taxa.factory.ts";
import { openTestDatabase, type TestDatabase } from "../../../test/support/test-database.ts";
import { parseInt4Array } from "../src/db.ts";
import { createStore } from "../src/index.ts";

describe("int4[] values", () => {
  it("parses flat integer lists itself and hands everything else to the generic parser", () => {
    expect(parseInt4Array("{}")).toEqual([]);
    expect(parseInt4Array("{7}")).toEqual([7]);
    expect(parseInt4Array("{1,-20,300,2147483647,-2147483648}")).toEqual([1, -20, 300, 2147483647, -2147483648]);
    expect(parseInt4Array("{1,NULL,3}")).toEqual([1, null, 3]);
    expect(parseInt4Array("{{1,2},{3,4}}")).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });
});

describe(`hot read statements (${process.env.TEST_DATABASE_URL ? "real PostgreSQL" : "embedded PGlite"})`, () => {
  let db: TestDatabase;
  const taxa: MadeTaxon[] = [];

  beforeAll(async () => {
    db = await openTestDatabase();
    const kingdom = await makeTaxon(db.store.pool, "kingdom", "Animalia");
    const genus = await makeTaxon(db.store.pool, "genus", "Corvus", kingdom);
    taxa.push(kingdom, genus);
    for (let i = 0; i < 5; i++) taxa.push(await makeTaxon(db.store.pool, "species", `Corvus sp${i}`, genus));
  }, 60_000);

  afterAll(async () => {
    await db?.close();
  });

  it("are named (prepared once per connection) on a real server and unnamed on PGlite", async () => {
    const store = await createStore({ databaseUrl: db.url, poolSize: 1 });
    try {
      const [species] = await store.taxa.getByIds([taxa[2]!.id]);
      expect(species!.ancestorIds).toEqual([taxa[0]!.id, taxa[1]!.id]);
      await store.taxa.getChildren([taxa[1]!.id], 3, null);
      const { rows } = await store.pool.query<{ name: string }>("SELECT name FROM pg_prepared_statements ORDER BY name");
      const names = rows.map((row) => row.name);
      if (db.kind === "postgres") expect(names).toEqual(expect.arrayContaining(["taxon.by_ids", "taxon.children"]));
      else expect(names).not.toContain("taxon.by_ids");
    } finally {
      await store.close();
    }
  });

  it("serve concurrent reads on every connection of the pool", async () => {
    const genus = taxa[1]!;
    const reads = Array.from({ length: 24 }, (_, i) =>
      i % 3 === 0
        ? db.store.taxa.getByIds([taxa[i % taxa.length]!.id]).then((rows) => rows.map((row) => row.id))
        : i % 3 === 1
          ? db.store.taxa.getChildren([genus.id], 2, null).then((rows) => rows.map((row) => row.id))
          : db.store.traits.getForTaxa([genus.id]).then((rows) => rows.length),
    );
    const results = await Promise.all(reads);
    results.forEach((result, i) => {
      if (i % 3 === 0) expect(result).toEqual([taxa[i % taxa.length]!.id]);
      else if (i % 3 === 1) expect(result).toEqual([taxa[2]!.id, taxa[3]!.id]);
      else expect(result).toBe(0);
    });
  });
});
