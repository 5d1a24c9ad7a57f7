import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeImage, makeTaxon, type MadeTaxon } from "../../../test/factories/taxa.factory.ts";
import { recomputePrototypesFor } from "@arbor/store";
import { startTestApi, type TestApi } from "../../../test/support/api-server.ts";
import { countStatements } from "../../../test/support/sql-counter.ts";
import { openTestDatabase, type TestDatabase } from "../../../test/support/test-database.ts";

/** Deterministic PRNG so the embedding fixtures are the same on every run. */
function mulberry32(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function cosine(a: number[], b: number[]): number {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}

describe(`GraphQL read API (${process.env.TEST_DATABASE_URL ? "real PostgreSQL" : "embedded PGlite"})`, () => {
  let db: TestDatabase;
  let api: TestApi;
  let modelId: number;
  const taxa: Record<string, MadeTaxon> = {};
  const embeddings = new Map<string, { vector: number[]; genus: string }>();
  const imageTaxon = new Map<string, number>();

  beforeAll(async () => {
    db = await openTestDatabase();
    const pool = db.store.pool;
    modelId = (await db.store.modelVersions.upsert({ name: "bioclip-2", version: "1", kind: "backbone", isStandIn: false, status: "active" })).id;
    taxa.animalia = await makeTaxon(pool, "kingdom", "Animalia");
    taxa.chordata = await makeTaxon(pool, "phylum", "Chordata", taxa.animalia);
    taxa.aves = await makeTaxon(pool, "class", "Aves", taxa.chordata, "Birds");
    taxa.passeriformes = await makeTaxon(pool, "order", "Passeriformes", taxa.aves);
    // Corvidae's order is deliberately missing (a skipped intermediate rank, like a goldfish lineage).
    taxa.corvidae = await makeTaxon(pool, "family", "Corvidae", taxa.aves, "Crows and jays");
    taxa.corvus = await makeTaxon(pool, "genus", "Corvus", taxa.corvidae);
    taxa.pica = await makeTaxon(pool, "genus", "Pica", taxa.corvidae);
    taxa.corax = await makeTaxon(pool, "species", "Corvus corax", taxa.corvus, "Common Raven");
    taxa.corone = await makeTaxon(pool, "species", "Corvus corone", taxa.corvus, "Carrion Crow");
    taxa.pica_pica = await makeTaxon(pool, "species", "Pica pica", taxa.pica, "Eurasian Magpie");
    for (let i = 0; i < 30; i++) taxa[`sp${i}`] = await makeTaxon(pool, "species", `Corvus testus${String(i).padStart(2, "0")}`, taxa.corvus);
    await pool.query(`INSERT INTO taxon_name (taxon_id, name, kind) VALUES ($1, 'Corvus maximus', 'synonym')`, [taxa.corax.id]);
    await pool.query(
      `INSERT INTO trait (taxon_id, name, numeric_value, unit, source, reference) VALUES ($1, 'Mass', 1156.5, 'g', 'AVONET', 'Tobias et al. 2022')`,
      [taxa.corax.id],
    );

    // Two clusters of embeddings (one per genus), 20 images each, plus a far-off one.
    const random = mulberry32(7);
    const centre = (offset: number) => Array.from({ length: 768 }, (_, i) => Math.sin(i * 0.37 + offset) * 3);
    for (const [genus, speciesList, offset] of [
      ["Corvus", [taxa.corax, taxa.corone], 0],
      ["Pica", [taxa.pica_pica], 2],
    ] as const) {
      const c = centre(offset);
      for (let i = 0; i < 20; i++) {
        const vector = c.map((v) => v + (random() - 0.5) * 4);
        const species = speciesList[i % speciesList.length]!;
        const id = await makeImage(pool, species.id, modelId, vector);
        embeddings.set(id, { vector, genus });
        imageTaxon.set(id, species.id);
      }
    }
    api = await startTestApi(db.store);
  }, 60_000);

  afterAll(async () => {
    await api?.close();
    await db?.close();
  });

  it("returns a taxon by id and by scientific name, with ordered ancestors, names and traits", async () => {
    const { data, errors } = await api.gql(
      `query($id: Int, $name: String) {
        byId: taxon(id: $id) { scientificName rank commonName ancestors { scientificName rank } parent { scientificName }
          names { name kind } traits { name numericValue unit source reference } }
        byName: taxon(scientificName: $name) { id }
      }`,
      { id: taxa.corax.id, name: "corvus CORAX" },
    );
    expect(errors).toBeUndefined();
    expect(data.byId.scientificName).toBe("Corvus corax");
    expect(data.byId.rank).toBe("species");
    expect(data.byId.ancestors.map((a: { scientificName: string }) => a.scientificName)).toEqual(["Animalia", "Chordata", "Aves", "Corvidae", "Corvus"]);
    expect(data.byId.parent.scientificName).toBe("Corvus");
    expect(data.byId.names).toEqual(expect.arrayContaining([{ name: "Corvus maximus", kind: "synonym" }, { name: "Common Raven", kind: "vernacular" }]));
    expect(data.byId.traits).toEqual([{ name: "Mass", numericValue: 1156.5, unit: "g", source: "AVONET", reference: "Tobias et al. 2022" }]);
    expect(data.byName.id).toBe(taxa.corax.id);
  });

  it("pages children with cursors and reports descendant counts by rank", async () => {
    const query = `query($id: Int!, $after: String) { taxon(id: $id) { childCount
      children(first: 10, after: $after) { totalCount edges { cursor node { scientificName } } pageInfo { hasNextPage endCursor } }
      descendantCounts { rank count } } }`;
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const { data, errors }: { data?: any; errors?: unknown } = await api.gql(query, { id: taxa.corvus.id, after });
      expect(errors).toBeUndefined();
      const page: { totalCount: number; edges: Array<{ node: { scientificName: string } }>; pageInfo: { hasNextPage: boolean; endCursor: string } } = data.taxon.children;
      expect(page.totalCount).toBe(32);
      seen.push(...page.edges.map((e: { node: { scientificName: string } }) => e.node.scientificName));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toHaveLength(32);
    expect([...seen].sort()).toEqual(seen);
    const { data } = await api.gql(`{ taxon(id: ${taxa.aves.id}) { descendantCounts { rank count } } }`);
    expect(data.taxon.descendantCounts).toEqual([
      { rank: "order", count: 1 },
      { rank: "family", count: 1 },
      { rank: "genus", count: 2 },
      { rank: "species", count: 33 },
    ]);
  });

  it("counts the images of a subtree in totalCount, whatever the page size", async () => {
    const query = `query($id: Int!) { taxon(id: $id) { images(first: 3) { totalCount edges { node { id } } } } }`;
    const counts: Record<string, number> = {};
    for (const name of ["corvidae", "corvus", "corax", "pica_pica", "sp0"]) {
      const { data, errors }: { data?: any; errors?: unknown } = await api.gql(query, { id: taxa[name]!.id });
      expect(errors).toBeUndefined();
      expect(data.taxon.images.edges).toHaveLength(Math.min(3, data.taxon.images.totalCount));
      counts[name] = data.taxon.images.totalCount;
    }
    expect(counts).toEqual({ corvidae: 40, corvus: 20, corax: 10, pica_pica: 20, sp0: 0 });
  });

  it("searches by prefix, typo, synonym and common name, ranked, and filters by rank", async () => {
    const search = async (query: string, rank?: string) => {
      const { data, errors } = await api.gql(
        `query($q: String!, $rank: TaxonRank) { searchTaxa(query: $q, rank: $rank, first: 5) { edges { node { matchedName matchKind score taxon { scientificName } } } } }`,
        { q: query, rank },
      );
      expect(errors).toBeUndefined();
      return data.searchTaxa.edges.map((e: { node: { taxon: { scientificName: string }; matchKind: string } }) => e.node);
    };
    expect((await search("Corvus corax"))[0].taxon.scientificName).toBe("Corvus corax");
    expect((await search("corvus cor"))[0].taxon.scientificName).toMatch(/^Corvus cor/);
    expect((await search("Corvus coraks"))[0].taxon.scientificName).toBe("Corvus corax");
    expect((await search("common raven"))[0]).toMatchObject({ matchKind: "vernacular", taxon: { scientificName: "Corvus corax" } });
    expect((await search("corvus maximus"))[0]).toMatchObject({ matchKind: "synonym", taxon: { scientificName: "Corvus corax" } });
    expect((await search("corv", "genus")).map((n: { taxon: { scientificName: string } }) => n.taxon.scientificName)).toEqual(["Corvus"]);
  });

  it("treats SQL and regex metacharacters in search as plain text", async () => {
    for (const hostile of ["%", "_", "%%%", "'; DROP TABLE taxon; --", ".*", "\\", "[a-z]+", "(", "zz' OR '1'='1 --"]) {
      const { data, errors } = await api.gql(`query($q: String!) { searchTaxa(query: $q) { edges { node { taxon { id } } } } }`, { q: hostile });
      expect(errors, hostile).toBeUndefined();
      expect(data.searchTaxa.edges, hostile).toEqual([]);
    }
    // A wildcard is only a character: "c%x" is no prefix pattern matching "Corvus corax".
    const { data: wildcard } = await api.gql(`{ searchTaxa(query: "corvus c%x") { edges { node { score } } } }`);
    expect(wildcard.searchTaxa.edges.every((e: { node: { score: number } }) => e.node.score < 1)).toBe(true);
    const { data } = await api.gql(`{ taxon(id: ${taxa.corax.id}) { id } }`);
    expect(data.taxon.id).toBe(taxa.corax.id);
  });

  it("expands the tree lazily with child counts", async () => {
    const { data, errors } = await api.gql(`{ tree(rootId: ${taxa.aves.id}, depth: 2) { taxon { scientificName childCount } children { taxon { scientificName childCount } children { taxon { scientificName } } } } }`);
    expect(errors).toBeUndefined();
    const [aves] = data.tree;
    expect(aves.taxon).toEqual({ scientificName: "Aves", childCount: 2 });
    expect(aves.children.map((c: { taxon: { scientificName: string } }) => c.taxon.scientificName)).toEqual(["Corvidae", "Passeriformes"]);
    expect(aves.children[0].children.map((c: { taxon: { scientificName: string } }) => c.taxon.scientificName)).toEqual(["Corvus", "Pica"]);
    const roots = await api.gql(`{ tree { taxon { scientificName } children { taxon { id } } } }`);
    expect(roots.data.tree.map((n: { taxon: { scientificName: string } }) => n.taxon.scientificName)).toEqual(["Animalia"]);
  });

  it("finds similar images exactly as a brute-force cosine ranking, within a subtree too", async () => {
    const [queryId, query] = [...embeddings.entries()][3]!;
    const expected = (filter: (genus: string) => boolean, k: number) =>
      [...embeddings.entries()]
        .filter(([id, e]) => id !== queryId && filter(e.genus))
        .map(([id, e]) => ({ id, similarity: cosine(query.vector, e.vector) }))
        .sort((a, b) => b.similarity - a.similarity)
        .slice(0, k);
    const run = async (withinTaxonId: number | null, k: number) => {
      const { data, errors } = await api.gql(
        `query($id: String!, $k: Int!, $within: Int) { similarImages(imageId: $id, k: $k, withinTaxonId: $within) {
          modelVersion { name isStandIn } results { similarity image { id taxon { scientificName } } } } }`,
        { id: queryId, k, within: withinTaxonId },
      );
      expect(errors).toBeUndefined();
      return data.similarImages;
    };
    const all = await run(null, 10);
    expect(all.modelVersion).toEqual({ name: "bioclip-2", isStandIn: false });
    const want = expected(() => true, 10);
    expect(all.results.map((r: { image: { id: string } }) => r.image.id)).toEqual(want.map((w) => w.id));
    all.results.forEach((r: { similarity: number }, i: number) => expect(r.similarity).toBeCloseTo(want[i]!.similarity, 5));

    const inPica = await run(taxa.pica.id, 5);
    expect(inPica.results.map((r: { image: { id: string } }) => r.image.id)).toEqual(expected((g) => g === "Pica", 5).map((w) => w.id));
    expect(inPica.results.every((r: { image: { taxon: { scientificName: string } } }) => r.image.taxon.scientificName === "Pica pica")).toBe(true);
  });

  it("ranks similarTaxa by the cosine of image prototypes among taxa of the same rank", async () => {
    await recomputePrototypesFor(db.store.pool, "bioclip-2@1");
    const unit = (v: number[]) => {
      const n = Math.hypot(...v);
      return v.map((x) => x / n);
    };
    // A prototype is the mean of its subtree's normalised image embeddings (cosine ignores its length).
    const prototypeOf = (taxonIds: number[]) => {
      const members = [...embeddings.entries()].filter(([id]) => taxonIds.includes(imageTaxon.get(id)!)).map(([, e]) => unit(e.vector));
      return members[0]!.map((_, i) => members.reduce((sum, v) => sum + v[i]!, 0));
    };
    const similar = async (id: number, k: number) => {
      const { data, errors } = await api.gql(`query($id: Int!, $k: Int!) { taxon(id: $id) { similarTaxa(k: $k) { similarity taxon { scientificName rank } } } }`, { id, k });
      expect(errors).toBeUndefined();
      return data.taxon.similarTaxa as Array<{ similarity: number; taxon: { scientificName: string; rank: string } }>;
    };

    const corax = prototypeOf([taxa.corax!.id]);
    const bySpecies = await similar(taxa.corax!.id, 5);
    const expected = [
      { name: "Corvus corone", similarity: cosine(corax, prototypeOf([taxa.corone!.id])) },
      { name: "Pica pica", similarity: cosine(corax, prototypeOf([taxa.pica_pica!.id])) },
    ].sort((a, b) => b.similarity - a.similarity);
    expect(bySpecies.map((hit) => hit.taxon.scientificName)).toEqual(expected.map((e) => e.name));
    bySpecies.forEach((hit, i) => expect(hit.similarity).toBeCloseTo(expected[i]!.similarity, 4));
    expect(bySpecies.every((hit) => hit.taxon.rank === "species")).toBe(true);

    const byGenus = await similar(taxa.corvus!.id, 5);
    expect(byGenus.map((hit) => hit.taxon.scientificName)).toEqual(["Pica"]);
    expect(byGenus[0]!.similarity).toBeCloseTo(cosine(prototypeOf([taxa.corax!.id, taxa.corone!.id]), prototypeOf([taxa.pica_pica!.id])), 4);

    expect(await similar(taxa.sp0!.id, 5)).toEqual([]); // no images, no prototype
    const { errors } = await api.gql(`{ taxon(id: ${taxa.corax!.id}) { similarTaxa(k: 0) { similarity } } }`);
    expect(errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
  });

  it("issues a bounded number of SQL statements for a taxon page, however many children and images", async () => {
    const page = `query($id: Int!, $n: Int!) { taxon(id: $id) { scientificName ancestors { scientificName } traits { name }
      children(first: $n) { edges { node { scientificName childCount parent { id } traits { name } images(first: 3) { edges { node { id taxon { scientificName } } } } } } }
      images(first: 12) { edges { node { sourceUrl taxon { scientificName ancestors { id } } } } } } }`;
    const counter = countStatements();
    try {
      const small = await api.gql(page, { id: taxa.corvus.id, n: 2 });
      expect(small.errors).toBeUndefined();
      const few = counter.count();
      counter.reset();
      const large = await api.gql(page, { id: taxa.corvus.id, n: 32 });
      expect(large.errors).toBeUndefined();
      expect(large.data.taxon.children.edges).toHaveLength(32);
      // Loader batches may split across event-loop ticks differently run to run, but an N+1 would
      // cost at least 32 statements here (one per child), and 3 × 32 with the nested fields.
      const many = counter.count();
      expect(few).toBeLessThanOrEqual(12);
      expect(many).toBeLessThanOrEqual(12);
      expect(Math.abs(many - few)).toBeLessThanOrEqual(2);
    } finally {
      counter.restore();
    }
  });

  describe("bad input", () => {
    it("returns null for unknown ids and NOT_FOUND where a resource is required", async () => {
      const { data, errors } = await api.gql(`{ taxon(id: 999999) { id } image(id: "00000000-0000-0000-0000-000000000000") { id } bad: image(id: "not-a-uuid") { id } }`);
      expect(errors).toBeUndefined();
      expect(data).toEqual({ taxon: null, image: null, bad: null });
      const missing = await api.gql(`{ similarImages(imageId: "00000000-0000-0000-0000-000000000000") { results { similarity } } }`);
      expect(missing.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
      const tree = await api.gql(`{ tree(rootId: 999999) { taxon { id } } }`);
      expect(tree.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    });

    it("rejects out-of-range arguments with BAD_USER_INPUT naming the field", async () => {
      const cases: Array<[string, string]> = [
        [`{ taxon(id: ${taxa.corvus.id}) { children(first: 1000) { edges { cursor } } } }`, "first"],
        [`{ taxon(id: ${taxa.corvus.id}) { children(first: 0) { edges { cursor } } } }`, "first"],
        [`{ taxon(id: ${taxa.corvus.id}) { children(after: "garbage!") { edges { cursor } } } }`, "after"],
        [`{ similarImages(imageId: "${[...embeddings.keys()][0]}", k: 0) { results { similarity } } }`, "k"],
        [`{ similarImages(imageId: "${[...embeddings.keys()][0]}", k: 5000) { results { similarity } } }`, "k"],
        [`{ similarImages(imageId: "nope") { results { similarity } } }`, "imageId"],
        [`{ tree(depth: 9) { taxon { id } } }`, "depth"],
        [`{ searchTaxa(query: "   ") { edges { cursor } } }`, "query"],
        [`{ searchTaxa(query: "${"a".repeat(300)}") { edges { cursor } } }`, "query"],
        [`{ taxon { id } }`, "id"],
      ];
      for (const [query, field] of cases) {
        const { errors } = await api.gql(query);
        expect(errors?.[0]?.extensions, query).toMatchObject({ code: "BAD_USER_INPUT", field });
      }
    });

    it("refuses too deep and too costly queries before running them", async () => {
      const deep = `{ taxon(id: 1) ${"{ parent ".repeat(14)}{ id }${" }".repeat(14)} }`;
      const tooDeep = await api.gql(deep);
      expect(tooDeep.status).toBe(400);
      expect(tooDeep.errors?.[0]?.message).toMatch(/exceeds maximum operation depth/);
      const costly = `{ taxon(id: 1) { children(first: 100) { edges { node { children(first: 100) { edges { node { children(first: 100) { edges { node { id } } } } } } } } } } }`;
      const tooCostly = await api.gql(costly);
      expect(tooCostly.errors?.[0]?.extensions?.code).toBe("QUERY_TOO_COMPLEX");
    });

    it("refuses oversized bodies with 413", async () => {
      const response = await fetch(`${api.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: `{ taxon(id: 1) { id } }`, padding: "x".repeat(2_000_000) }),
      });
      expect(response.status).toBe(413);
      expect((await response.json()).errors[0].extensions.code).toBe("PAYLOAD_TOO_LARGE");
    });
  });

  it("serves GraphiQL without any CDN, and health and readiness", async () => {
    const page = await (await fetch(`${api.url}/graphiql`)).text();
    expect(page).toContain("renderYogaGraphiQL");
    expect(page).not.toMatch(/(unpkg\.com|jsdelivr|cdnjs|googleapis)/);
    expect(await (await fetch(`${api.url}/healthz`)).json()).toEqual({ status: "ok" });
    expect(await (await fetch(`${api.url}/readyz`)).json()).toEqual({ status: "ready" });
  });
});
