import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeImage, makeTaxon, type MadeTaxon } from "../../../test/factories/taxa.factory.ts";
import { wrapClientQuery } from "../../../test/support/sql-counter.ts";
import { openTestDatabase, type TestDatabase } from "../../../test/support/test-database.ts";
import { ImageRepository } from "../src/index.ts";

/**
 * The planner cannot see how many images a subtree filter leaves (its bounds are parameters), so
 * ImageRepository.findSimilar decides: few candidates are ranked exactly, many are searched through
 * the HNSW index. These tests read the plan of the statement findSimilar sends, in its own
 * transaction and with its own settings.
 */
describe(`similar images under a subtree filter (${process.env.TEST_DATABASE_URL ? "real PostgreSQL" : "embedded PGlite"})`, () => {
  let db: TestDatabase;
  let modelId: number;
  let kingdom: MadeTaxon;
  let queryImage: string;
  const imagesOf = new Map<string, number>();

  beforeAll(async () => {
    db = await openTestDatabase();
    const pool = db.store.pool;
    modelId = (await db.store.modelVersions.upsert({ name: "plan-test", version: "1", kind: "backbone", isStandIn: true, status: "active" })).id;
    kingdom = await makeTaxon(pool, "kingdom", "Plantae");
    const other = await makeTaxon(pool, "kingdom", "Fungi");
    for (const [parent, prefix] of [
      [kingdom, "Quercus"],
      [other, "Amanita"],
    ] as const) {
      for (let s = 0; s < 4; s++) {
        const species = await makeTaxon(pool, "species", `${prefix} sp${s}`, parent);
        for (let i = 0; i < 6; i++) {
          const id = await makeImage(pool, species.id, modelId, Array.from({ length: 768 }, (_, j) => Math.sin(s * 7 + i + j * (parent === kingdom ? 1 : 3))));
          imagesOf.set(id, parent.id);
          queryImage ??= id;
        }
      }
    }
  }, 60_000);

  afterAll(async () => {
    await db?.close();
  });

  /** findSimilar's results, and the plan of its nearest-neighbour statement. */
  async function searchWithPlan(exactCandidateLimit: number): Promise<{ hits: string[]; plan: string }> {
    let plan = "";
    const restore = wrapClientQuery(async (original, client, args) => {
      const [text, values] = args as [unknown, unknown[] | undefined];
      if (typeof text === "string" && text.includes("<=>")) {
        const explained = (await original.call(client, `EXPLAIN ${text}`, values)) as { rows: Array<{ "QUERY PLAN": string }> };
        plan += explained.rows.map((row) => row["QUERY PLAN"]).join("\n");
      }
      return original.apply(client, args);
    });
    try {
      const hits = await new ImageRepository(db.store.pool).findSimilar({
        imageId: queryImage,
        modelVersionId: modelId,
        k: 5,
        withinTaxonId: kingdom.id,
        exactCandidateLimit,
        efSearch: 40,
      });
      return { hits: hits.map((hit) => hit.imageId), plan };
    } finally {
      restore();
    }
  }

  it("searches a filter that leaves more candidates than the exact limit through the HNSW index", async () => {
    const { hits, plan } = await searchWithPlan(10);
    expect(plan).toMatch(/image_embedding_hnsw_idx/);
    expect(hits.length).toBe(5);
    for (const id of hits) expect(imagesOf.get(id)).toBe(kingdom.id);
  });

  it("ranks the candidates of a filter within the exact limit without the index", async () => {
    const { hits, plan } = await searchWithPlan(1000);
    expect(plan).not.toMatch(/image_embedding_hnsw_idx/);
    expect(hits.length).toBe(5);
    for (const id of hits) expect(imagesOf.get(id)).toBe(kingdom.id);
  });
});
