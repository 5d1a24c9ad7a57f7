import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SIMILAR_BY_PROTOTYPE, withTransaction } from "../src/index.ts";
import { toVectorLiteral } from "../src/sql/vector.ts";
import { makeTaxon } from "../../../test/factories/taxa.factory.ts";
import { openTestDatabase, type TestDatabase } from "../../../test/support/test-database.ts";

const INDEX = "taxon_embedding_prototype_hnsw_idx";
const DIM = 768;

/** A unit vector pointing mostly along axis `axis`, a little along the next one. */
function unitVector(axis: number, tilt: number): number[] {
  const v = new Array<number>(DIM).fill(0);
  v[axis % DIM] = Math.cos(tilt);
  v[(axis + 1) % DIM] = Math.sin(tilt);
  return v;
}

describe(`taxon embedding index (${process.env.TEST_DATABASE_URL ? "real PostgreSQL" : "embedded PGlite"})`, () => {
  let db: TestDatabase;
  let modelId: number;
  const speciesIds: number[] = [];

  const indexPages = async () => {
    const { rows } = await db.store.pool.query<{ pages: number }>(`SELECT (pg_relation_size($1::regclass) / current_setting('block_size')::int)::int AS pages`, [INDEX]);
    return rows[0]!.pages;
  };
  const insertEmbeddings = async (kind: "text" | "prototype", count: number, axisOffset: number) => {
    for (let i = 0; i < count; i++) {
      await db.store.pool.query(
        `INSERT INTO taxon_embedding (taxon_id, model_version_id, kind, embedding, image_count) VALUES ($1, $2, $3::taxon_embedding_kind, $4, $5)`,
        [speciesIds[i], modelId, kind, toVectorLiteral(unitVector(axisOffset + i, 0.1)), kind === "prototype" ? 1 : 0],
      );
    }
  };

  beforeAll(async () => {
    db = await openTestDatabase();
    const pool = db.store.pool;
    modelId = (await db.store.modelVersions.upsert({ name: "bioclip-2", version: "1", kind: "backbone", isStandIn: false, status: "active" })).id;
    const genus = await makeTaxon(pool, "genus", "Testgenus");
    for (let i = 0; i < 300; i++) speciesIds.push((await makeTaxon(pool, "species", `Testgenus species${i}`, genus)).id);
  }, 120_000);

  afterAll(async () => {
    await db?.close();
  });

  it("leaves text embeddings out of the HNSW index and puts prototypes in it", async () => {
    const empty = await indexPages();
    await insertEmbeddings("text", 300, 0);
    expect(await indexPages()).toBe(empty);
    await insertEmbeddings("prototype", 300, 400);
    expect(await indexPages()).toBeGreaterThan(empty);
  });

  it("answers similar-taxa search from that index", async () => {
    const plan = await withTransaction(db.store.pool, async (client) => {
      // On a test-sized table a scan and a sort cost less than the index; what is checked is that the
      // planner can use it at all, i.e. that the query implies the index's predicate.
      await client.query("SET LOCAL enable_seqscan = off");
      await client.query("SET LOCAL enable_sort = off");
      const { rows } = await client.query<{ "QUERY PLAN": string }>(`EXPLAIN ${SIMILAR_BY_PROTOTYPE.replace(/\$1/g, String(speciesIds[0])).replace(/\$2/g, String(modelId)).replace(/\$3/g, "5")}`);
      return rows.map((row) => row["QUERY PLAN"]).join("\n");
    });
    expect(plan).toMatch(new RegExp(`Index Scan using ${INDEX}`));
    const hits = await db.store.taxonEmbeddings.findSimilarByPrototype(speciesIds[0]!, modelId, 3, 40);
    // Prototype i points along axis 400 + i: its nearest neighbours are the next axes' (cosine sin·cos ≈ 0.1).
    expect(hits.map((hit) => hit.taxonId)).toHaveLength(3);
    expect(hits.map((hit) => hit.taxonId)).toContain(speciesIds[1]);
  });
});
