import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTaxon, type MadeTaxon } from "../../../test/factories/taxa.factory.ts";
import { openTestDatabase, type TestDatabase } from "../../../test/support/test-database.ts";
import { ImageRepository } from "../src/index.ts";

/**
 * image.taxon_path (migration 20261129000000_image_taxon_path) is the image's taxon lineage, kept by
 * triggers, and the subtree reads of ImageRepository are ranges over it. The reference for every
 * subtree read is the definition the store used before: the taxon and every taxon whose
 * ancestor_ids contain it.
 */
describe(`image taxon paths (${process.env.TEST_DATABASE_URL ? "real PostgreSQL" : "embedded PGlite"})`, () => {
  let db: TestDatabase;
  let images: ImageRepository;
  const taxa: Record<string, MadeTaxon> = {};

  const insertImage = async (taxonId: number | null, createdAt: string, path: number[] | null = null) =>
    (
      await db.store.pool.query<{ id: string }>(
        `INSERT INTO image (taxon_id, source_url, created_at, taxon_path) VALUES ($1, 'https://example.org/p.jpg', $2, coalesce($3::int[], '{}')) RETURNING id`,
        [taxonId, createdAt, path],
      )
    ).rows[0]!.id;

  const pathOf = async (imageId: string) =>
    (await db.store.pool.query<{ path: number[] }>(`SELECT taxon_path AS path FROM image WHERE id = $1`, [imageId])).rows[0]!.path;

  const lineageOf = async (taxonId: number) =>
    (await db.store.pool.query<{ path: number[] }>(`SELECT ancestor_ids || id AS path FROM taxon WHERE id = $1`, [taxonId])).rows[0]!.path;

  /** Every image of the subtree by the ancestor_ids definition, newest first. */
  const subtreeByLineage = async (taxonId: number) =>
    (
      await db.store.pool.query<{ id: string }>(
        `SELECT i.id FROM image i JOIN taxon t ON t.id = i.taxon_id
         WHERE t.id = $1 OR t.ancestor_ids @> ARRAY[$1::int] ORDER BY i.created_at DESC, i.id DESC`,
        [taxonId],
      )
    ).rows.map((row) => row.id);

  beforeAll(async () => {
    db = await openTestDatabase();
    images = new ImageRepository(db.store.pool);
    const pool = db.store.pool;
    taxa.animalia = await makeTaxon(pool, "kingdom", "Animalia");
    taxa.corvidae = await makeTaxon(pool, "family", "Corvidae", taxa.animalia);
    taxa.paridae = await makeTaxon(pool, "family", "Paridae", taxa.animalia);
    // Sibling genera with adjacent ids: Pica's id is Corvus's + 1, the upper bound of Corvus's range.
    taxa.corvus = await makeTaxon(pool, "genus", "Corvus", taxa.corvidae);
    taxa.pica = await makeTaxon(pool, "genus", "Pica", taxa.corvidae);
    taxa.corax = await makeTaxon(pool, "species", "Corvus corax", taxa.corvus);
    taxa.corone = await makeTaxon(pool, "species", "Corvus corone", taxa.corvus);
    taxa.picaPica = await makeTaxon(pool, "species", "Pica pica", taxa.pica);
    taxa.parus = await makeTaxon(pool, "genus", "Parus", taxa.paridae);
    let day = 1;
    const at = () => `2024-01-${String(day++).padStart(2, "0")}T00:00:00Z`;
    for (const key of ["corax", "corax", "corone", "corvus", "picaPica", "pica", "corvidae", "parus", "animalia"]) await insertImage(taxa[key]!.id, at());
    await insertImage(null, at());
    // Same created_at: the id breaks the tie.
    await insertImage(taxa.corone!.id, "2024-02-01T00:00:00Z");
    await insertImage(taxa.corone!.id, "2024-02-01T00:00:00Z");
  }, 60_000);

  afterAll(async () => {
    await db?.close();
  });

  it("sets a new image's path to its taxon's lineage, whatever the writer put there, and to {} without a taxon", async () => {
    const withTaxon = await insertImage(taxa.corax!.id, "2023-01-01T00:00:00Z", [1, 2, 3]);
    expect(await pathOf(withTaxon)).toEqual(await lineageOf(taxa.corax!.id));
    expect(await pathOf(withTaxon)).toEqual([taxa.animalia!.id, taxa.corvidae!.id, taxa.corvus!.id, taxa.corax!.id]);
    const withoutTaxon = await insertImage(null, "2023-01-01T00:00:00Z", [taxa.animalia!.id]);
    expect(await pathOf(withoutTaxon)).toEqual([]);
    await db.store.pool.query(`DELETE FROM image WHERE id = ANY($1::uuid[])`, [[withTaxon, withoutTaxon]]);
  });

  it("follows the image when it is re-identified or its path is overwritten", async () => {
    const image = await insertImage(taxa.corax!.id, "2023-01-01T00:00:00Z");
    await db.store.pool.query(`UPDATE image SET taxon_id = $2 WHERE id = $1`, [image, taxa.parus!.id]);
    expect(await pathOf(image)).toEqual(await lineageOf(taxa.parus!.id));
    await db.store.pool.query(`UPDATE image SET taxon_path = '{7}' WHERE id = $1`, [image]);
    expect(await pathOf(image)).toEqual(await lineageOf(taxa.parus!.id));
    await db.store.pool.query(`DELETE FROM image WHERE id = $1`, [image]);
  });

  it("is kept with foreign-key triggers off (session_replication_role = replica, as bulk loads run)", async () => {
    const client = await db.store.pool.connect();
    try {
      await client.query("SET session_replication_role = replica");
      const { rows } = await client.query<{ id: string; path: number[] }>(
        `INSERT INTO image (taxon_id, created_at) VALUES ($1, '2023-01-01') RETURNING id, taxon_path AS path`,
        [taxa.picaPica!.id],
      );
      expect(rows[0]!.path).toEqual(await lineageOf(taxa.picaPica!.id));
      await client.query(`DELETE FROM image WHERE id = $1`, [rows[0]!.id]);
    } finally {
      await client.query("RESET session_replication_role");
      client.release();
    }
  });

  it("reads the newest images of every subtree as the ancestor_ids definition does, page by page", async () => {
    const counts = await images.countForTaxa(Object.values(taxa).map((t) => t.id));
    for (const [name, taxon] of Object.entries(taxa)) {
      const expected = await subtreeByLineage(taxon.id);
      const all = await images.getForTaxa([taxon.id], 100, null);
      expect(all.map((row) => row.id), name).toEqual(expected);
      expect(counts.get(taxon.id), name).toBe(expected.length);
      // Walked two at a time with the (createdAt, id) cursor, the same list.
      const walked: string[] = [];
      let after: { createdAt: Date; id: string } | null = null;
      for (;;) {
        const page = await images.getForTaxa([taxon.id], 2, after);
        walked.push(...page.map((row) => row.id));
        if (page.length < 2) break;
        after = { createdAt: page[1]!.createdAt, id: page[1]!.id };
      }
      expect(walked, name).toEqual(expected);
    }
    expect((await images.getForTaxa([taxa.pica!.id], 100, null)).length).toBe(2);
    expect((await images.getForTaxa([taxa.corvus!.id], 100, null)).length).toBe(6);
  });

  it("moves with its taxon: a subtree re-parented by a new lineage carries its images", async () => {
    // Corvus moves from Corvidae to Paridae, its lineage rewritten as the importer does (ImportRepository).
    const pool = db.store.pool;
    const before = await lineageOf(taxa.corvus!.id);
    await pool.query(
      `UPDATE taxon d SET ancestor_ids = (SELECT ancestor_ids || id FROM taxon WHERE id = $2) || d.ancestor_ids[array_position(d.ancestor_ids, $1) :]
       WHERE d.ancestor_ids @> ARRAY[$1::int]`,
      [taxa.corvus!.id, taxa.paridae!.id],
    );
    await pool.query(`UPDATE taxon SET parent_id = $2, ancestor_ids = (SELECT ancestor_ids || id FROM taxon WHERE id = $2) WHERE id = $1`, [
      taxa.corvus!.id,
      taxa.paridae!.id,
    ]);
    expect(await lineageOf(taxa.corvus!.id)).not.toEqual(before);
    const { rows } = await pool.query<{ stale: number }>(
      `SELECT count(*)::int AS stale FROM image i JOIN taxon t ON t.id = i.taxon_id WHERE i.taxon_path IS DISTINCT FROM t.ancestor_ids || t.id`,
    );
    expect(rows[0]!.stale).toBe(0);
    for (const taxon of [taxa.corvidae!, taxa.paridae!, taxa.corvus!]) {
      expect((await images.getForTaxa([taxon.id], 100, null)).map((row) => row.id)).toEqual(await subtreeByLineage(taxon.id));
    }
    expect((await images.getForTaxa([taxa.paridae!.id], 100, null)).length).toBe(7);
  });

  it("empties the path of an image whose taxon is deleted", async () => {
    const pool = db.store.pool;
    const doomed = await makeTaxon(pool, "species", "Pica doomed", taxa.pica);
    const image = await insertImage(doomed.id, "2023-01-01T00:00:00Z");
    await pool.query(`DELETE FROM taxon WHERE id = $1`, [doomed.id]);
    expect(await pathOf(image)).toEqual([]);
    expect((await images.getForTaxa([taxa.pica!.id], 100, null)).map((row) => row.id)).not.toContain(image);
  });
});
