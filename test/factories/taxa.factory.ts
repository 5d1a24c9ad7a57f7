import type { Pool } from "@arbor/store";

export interface MadeTaxon {
  id: number;
  name: string;
}

/**
 * Inserts a taxon under `parent` with a correct materialised lineage and its scientific name row.
 * Test-only: production writes go through the importers.
 */
export async function makeTaxon(
  pool: Pool,
  rank: string,
  scientificName: string,
  parent: MadeTaxon | null = null,
  commonName: string | null = null,
): Promise<MadeTaxon> {
  const { rows } = await pool.query<{ id: number }>(
    `INSERT INTO taxon (parent_id, rank, scientific_name, common_name, ancestor_ids, depth)
     SELECT $1::int, $2::taxon_rank, $3, $4,
            COALESCE((SELECT ancestor_ids || id FROM taxon WHERE id = $1::int), ARRAY[]::int[]),
            COALESCE((SELECT depth + 1 FROM taxon WHERE id = $1::int), 0)
     RETURNING id`,
    [parent?.id ?? null, rank, scientificName, commonName],
  );
  const id = rows[0]!.id;
  await pool.query(`INSERT INTO taxon_name (taxon_id, name, kind, is_preferred) VALUES ($1, $2, 'scientific', true)`, [id, scientificName]);
  if (commonName) {
    await pool.query(`INSERT INTO taxon_name (taxon_id, name, kind, language, is_preferred) VALUES ($1, $2, 'vernacular', 'en', true)`, [id, commonName]);
  }
  if (parent) await pool.query(`UPDATE taxon SET child_count = child_count + 1 WHERE id = $1`, [parent.id]);
  return { id, name: scientificName };
}

/** Inserts an image of `taxon` with an embedding under `modelVersionId`. */
export async function makeImage(pool: Pool, taxonId: number | null, modelVersionId: number, embedding: ArrayLike<number>, sourceUrl = "https://example.org/i.jpg"): Promise<string> {
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO image (taxon_id, source_url, license) VALUES ($1, $2, 'CC-BY-4.0') RETURNING id`,
    [taxonId, sourceUrl],
  );
  const id = rows[0]!.id;
  await pool.query(`INSERT INTO image_embedding (image_id, model_version_id, embedding) VALUES ($1, $2, $3)`, [
    id,
    modelVersionId,
    `[${Array.from(embedding).join(",")}]`,
  ]);
  return id;
}
