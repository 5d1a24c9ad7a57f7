import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeImage, makeTaxon, type MadeTaxon } from "../../../test/factories/taxa.factory.ts";
import { startTestApi, type TestApi } from "../../../test/support/api-server.ts";
import { countStatements } from "../../../test/support/sql-counter.ts";
import { openTestDatabase, type TestDatabase } from "../../../test/support/test-database.ts";

/**
 * `taxon(id:)` fetches the relations it sees selected in one statement (taxon-page.prefetch.ts).
 * The reference for every answer is the same selection under `taxon(scientificName:)`, which does
 * not look ahead and resolves each relation through the loaders. Every query runs twice (the second
 * time from Apollo's parsed-document cache and the complexity memo, executed by graphql-jit, whose
 * resolve info the look-ahead reads too) and must answer the same.
 */
describe(`taxon page look-ahead (${process.env.TEST_DATABASE_URL ? "real PostgreSQL" : "embedded PGlite"})`, () => {
  let db: TestDatabase;
  let api: TestApi;
  let genus: MadeTaxon;
  let species: MadeTaxon[];

  beforeAll(async () => {
    db = await openTestDatabase();
    const pool = db.store.pool;
    const modelId = (await db.store.modelVersions.upsert({ name: "prefetch-test", version: "1", kind: "backbone", isStandIn: true, status: "active" })).id;
    const kingdom = await makeTaxon(pool, "kingdom", "Plantae");
    const family = await makeTaxon(pool, "family", "Rosaceae", kingdom, "Rose family");
    genus = await makeTaxon(pool, "genus", "Rosa", family, "Roses");
    species = [];
    for (let i = 0; i < 25; i++) species.push(await makeTaxon(pool, "species", `Rosa testa${String(i).padStart(2, "0")}`, genus, i % 3 ? null : `Rose ${i}`));
    await pool.query(
      `INSERT INTO trait (taxon_id, name, numeric_value, text_value, unit, source) VALUES
         ($1, 'Height', 1.75, NULL, 'm', 'TRY'), ($1, 'Habit', NULL, 'shrub', NULL, 'TRY'), ($1, 'Mass', 0.1, NULL, 'kg', 'AnAge')`,
      [genus.id],
    );
    const vector = Array.from({ length: 768 }, (_, i) => Math.cos(i));
    for (let i = 0; i < 15; i++) {
      const id = await makeImage(pool, species[i % 7]!.id, modelId, vector, `https://example.org/rosa/${i}.jpg`);
      // Distinct, out-of-insertion-order timestamps, two of them equal: the page orders by (created_at, id).
      await pool.query(`UPDATE image SET created_at = $2 WHERE id = $1`, [id, new Date(Date.UTC(2020, 0, 1 + ((i * 7) % 13)))]);
    }
    api = await startTestApi(db.store);
  }, 60_000);

  afterAll(async () => {
    await api?.close();
    await db?.close();
  });

  /** Runs `selection` on taxon(id:) and on taxon(scientificName:); returns both answers and the statements of the id query. */
  async function both(selection: string, variables: Record<string, unknown> = {}, fragments = "") {
    const declared = Object.keys(variables).map((name) => `, $${name}: ${typeof variables[name] === "number" ? "Int" : "String"}`).join("");
    const byId = `query($id: Int!${declared}) { taxon(id: $id) ${selection} } ${fragments}`;
    const byName = `query($name: String!${declared}) { taxon(scientificName: $name) ${selection} } ${fragments}`;
    const counter = countStatements();
    try {
      const statements: number[] = [];
      const answers = [];
      for (let run = 0; run < 2; run++) {
        counter.reset();
        answers.push(await api.gql(byId, { id: genus.id, ...variables }));
        statements.push(counter.count());
      }
      const reference = await api.gql(byName, { name: genus.name, ...variables });
      expect(answers[1]).toEqual(answers[0]);
      return { answer: answers[0]!, reference, statements };
    } finally {
      counter.restore();
    }
  }

  const PAGE = `{ id scientificName rank commonName ancestors { id scientificName rank }
    children(first: 20) { edges { cursor node { id scientificName rank childCount } } pageInfo { hasNextPage endCursor } }
    traits { name numericValue textValue unit source }
    images(first: 12) { edges { cursor node { id sourceUrl license createdAt } } pageInfo { hasNextPage endCursor } } }`;

  it("answers the whole taxon page in one SQL statement, equal to the per-relation loaders", async () => {
    const { answer, reference, statements } = await both(PAGE);
    expect(answer.errors).toBeUndefined();
    expect(reference.errors).toBeUndefined();
    expect(answer.data).toEqual(reference.data);
    expect(statements).toEqual([1, 1]);
    const page = answer.data.taxon;
    expect(page.ancestors.map((a: { scientificName: string }) => a.scientificName)).toEqual(["Plantae", "Rosaceae"]);
    expect(page.children.edges).toHaveLength(20);
    expect(page.children.pageInfo.hasNextPage).toBe(true);
    expect(page.traits.map((t: { source: string; name: string }) => `${t.source}/${t.name}`)).toEqual(["AnAge/Mass", "TRY/Habit", "TRY/Height"]);
    expect(page.images.edges).toHaveLength(12);
    const times = page.images.edges.map((e: { node: { createdAt: string } }) => Date.parse(e.node.createdAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });

  it("follows cursors, variables and fragments", async () => {
    const first = await both(PAGE);
    const after = first.answer.data.taxon.children.pageInfo.endCursor;
    const imagesAfter = first.answer.data.taxon.images.edges[4].cursor;
    const { answer, reference, statements } = await both(
      `{ ...Page ... on Taxon { images(first: $n, after: $imagesAfter) { edges { node { id createdAt } } pageInfo { hasNextPage } } } }`,
      { n: 5, after, imagesAfter },
      `fragment Page on Taxon { traits { name } children(first: $n, after: $after) { edges { node { scientificName } } pageInfo { hasNextPage } } }`,
    );
    expect(answer.errors).toBeUndefined();
    expect(reference.errors).toBeUndefined();
    expect(answer.data).toEqual(reference.data);
    expect(statements).toEqual([1, 1]);
    expect(answer.data.taxon.children.edges.map((e: { node: { scientificName: string } }) => e.node.scientificName)).toEqual([
      "Rosa testa20", "Rosa testa21", "Rosa testa22", "Rosa testa23", "Rosa testa24",
    ]);
    expect(answer.data.taxon.images.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual(
      first.answer.data.taxon.images.edges.slice(5, 10).map((e: { node: { id: string } }) => e.node.id),
    );
  });

  it("answers a relation selected twice with other arguments through the loaders", async () => {
    const { answer, reference, statements } = await both(`{ few: children(first: 2) { edges { node { id } } } more: children(first: 6) { edges { node { id } } } }`);
    expect(answer.errors).toBeUndefined();
    expect(reference.errors).toBeUndefined();
    expect(answer.data).toEqual(reference.data);
    expect(answer.data.taxon.more.edges.slice(0, 2)).toEqual(answer.data.taxon.few.edges);
    expect(statements).toEqual([2, 2]);
  });

  it("leaves nested relations of children to the batched loaders", async () => {
    const { answer, reference, statements } = await both(`{ children(first: 20) { edges { node { scientificName ancestors { id } traits { name } images(first: 2) { edges { node { id } } } } } } }`);
    expect(answer.errors).toBeUndefined();
    expect(reference.errors).toBeUndefined();
    expect(answer.data).toEqual(reference.data);
    // The page, then one batch per nested relation (the children's ancestors, traits, images): never one per child.
    expect(statements).toEqual([4, 4]);
  });

  it("reports bad arguments of a looked-ahead relation on that field, as without the look-ahead", async () => {
    for (const [selection, field] of [
      [`{ scientificName children(first: 1000) { edges { cursor } } }`, "first"],
      [`{ scientificName images(after: "not-a-cursor") { edges { cursor } } }`, "after"],
      // Well-formed, but its image id is not a uuid: a statement would fail on it.
      [`{ scientificName images(after: "${Buffer.from(JSON.stringify(["2021-01-01T00:00:00.000Z", "x"])).toString("base64url")}") { edges { cursor } } }`, "after"],
    ] as const) {
      const { answer, reference } = await both(selection);
      for (const result of [answer, reference]) {
        expect(result.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
        expect(result.errors?.[0]?.extensions?.field).toBe(field);
        expect(result.errors?.[0]?.path?.slice(-1)).toEqual([selection.includes("children") ? "children" : "images"]);
      }
      expect(answer.data).toEqual(reference.data);
    }
  });

  it("answers concurrent pages of different taxa each with its own data, as one at a time", async () => {
    // Correctness under concurrency only: whether these requests share a page statement depends on how the
    // event loop reads them (services/store taxon-pages.db.spec.ts proves the sharing itself).
    const ids = [genus.id, ...species.slice(0, 7).map((s) => s.id), 987_654_321, genus.id];
    const query = `query($id: Int!) { taxon(id: $id) ${PAGE} }`;
    const oneAtATime = [];
    for (const id of ids) oneAtATime.push(await api.gql(query, { id }));
    const concurrent = await Promise.all(ids.map((id) => api.gql(query, { id })));
    expect(concurrent).toEqual(oneAtATime);
    expect(concurrent.map((answer) => answer.data.taxon?.id ?? null)).toEqual([...ids.slice(0, -2), null, genus.id]);
    expect(concurrent[1]!.data.taxon.images.edges.length).toBeGreaterThan(0);
  });

  it("answers null for an unknown id with one statement", async () => {
    const counter = countStatements();
    try {
      const { data, errors } = await api.gql(`query($id: Int!) { taxon(id: $id) ${PAGE} }`, { id: 987_654_321 });
      expect(errors).toBeUndefined();
      expect(data).toEqual({ taxon: null });
      expect(counter.count()).toBe(1);
    } finally {
      counter.restore();
    }
  });
});
