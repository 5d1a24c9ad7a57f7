import { hotStatement, withTransaction, type Pool } from "../db.ts";
import { hnswSearchSettings } from "../sql/vector.ts";

export interface ImageRow {
  id: string;
  sha256: string | null;
  taxonId: number | null;
  observationId: string | null;
  source: string | null;
  sourceId: string | null;
  sourceUrl: string | null;
  license: string | null;
  rightsHolder: string | null;
  publisher: string | null;
  basisOfRecord: string | null;
  lifeStage: string | null;
  sex: string | null;
  width: number | null;
  height: number | null;
  createdAt: Date;
}

export interface SimilarImageHit {
  imageId: string;
  /** Cosine distance (1 − cosine similarity). */
  distance: number;
}

export interface SimilarImagesQuery {
  imageId: string;
  modelVersionId: number;
  k: number;
  /** Restrict to images of this taxon's subtree. */
  withinTaxonId?: number;
  /** Below this many candidates a filtered search is done exactly (no index). */
  exactCandidateLimit: number;
  efSearch: number;
}

const COLUMNS = `i.id, i.sha256, i.taxon_id AS "taxonId", i.observation_id AS "observationId", i.source,
  i.source_id AS "sourceId", i.source_url AS "sourceUrl", i.license, i.rights_holder AS "rightsHolder",
  i.publisher, i.basis_of_record AS "basisOfRecord", i.life_stage AS "lifeStage", i.sex, i.width, i.height,
  i.created_at AS "createdAt"`;

/**
 * Images (alias `image`) whose taxon is `taxon` or below it: one range of image_taxon_path_idx, as a
 * subtree's paths all start with its root's (migration 20261129000000_image_taxon_path). `taxon` is
 * an SQL expression; the two look-ups of its lineage are primary-key probes.
 */
export const inImageSubtree = (taxon: string, image = "i") =>
  `${image}.taxon_path >= (SELECT x.ancestor_ids || x.id FROM taxon x WHERE x.id = ${taxon})
   AND ${image}.taxon_path < (SELECT x.ancestor_ids || (x.id + 1) FROM taxon x WHERE x.id = ${taxon})`;

/**
 * One page of the images of `taxon`'s subtree, newest first, after the key (`afterCreatedAt`,
 * `afterId`) when that is not NULL; arguments are SQL expressions. The page's keys come from the
 * index alone (its INCLUDE columns); only the page's own rows are then read from the table.
 */
export const subtreeImagesPageSql = (taxon: string, limit: string, afterCreatedAt: string, afterId: string) =>
  `SELECT ${COLUMNS} FROM (SELECT s.id, s.created_at FROM image s
      WHERE ${inImageSubtree(taxon, "s")} AND (${afterCreatedAt}::timestamptz IS NULL OR (s.created_at, s.id) < (${afterCreatedAt}::timestamptz, ${afterId}::uuid))
      ORDER BY s.created_at DESC, s.id DESC LIMIT ${limit}) newest
    JOIN image i ON i.id = newest.id
    ORDER BY newest.created_at DESC, newest.id DESC`;

/** Stands for "no cursor" in a page's uuid parameter (the comparison is skipped when the timestamp is NULL). */
export const NO_IMAGE_ID = "00000000-0000-0000-0000-000000000000";

const BY_IDS = `SELECT ${COLUMNS} FROM image i WHERE i.id = ANY($1::uuid[])`;

const FOR_TAXA = `SELECT p.id AS "ownerTaxonId", c.* FROM unnest($1::int[]) AS p(id)
  CROSS JOIN LATERAL (${subtreeImagesPageSql("p.id", "$2", "$3", "$4")}) c`;

const COUNT_FOR_TAXA = `SELECT p.id AS "ownerTaxonId", (SELECT count(*) FROM image i WHERE ${inImageSubtree("p.id")})::int AS count
  FROM unnest($1::int[]) AS p(id)`;

export class ImageRepository {
  /** `namedStatements`: send the hot reads as named statements (see supportsNamedStatements). */
  constructor(
    private readonly pool: Pool,
    private readonly namedStatements = false,
  ) {}

  async getByIds(ids: readonly string[]): Promise<ImageRow[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.pool.query<ImageRow>(hotStatement(this.namedStatements, "image.by_ids", BY_IDS, [ids]));
    return rows;
  }

  /**
   * Images of several taxa's subtrees in one statement, `limit` each, newest first;
   * `after` is the (createdAt, id) key of the last image already seen.
   */
  async getForTaxa(
    taxonIds: readonly number[],
    limit: number,
    after: { createdAt: Date; id: string } | null,
  ): Promise<Array<ImageRow & { ownerTaxonId: number }>> {
    if (taxonIds.length === 0) return [];
    const { rows } = await this.pool.query<ImageRow & { ownerTaxonId: number }>(
      hotStatement(this.namedStatements, "image.for_taxa", FOR_TAXA, [
        taxonIds,
        limit,
        after?.createdAt ?? null,
        after?.id ?? NO_IMAGE_ID,
      ]),
    );
    return rows;
  }

  async countForTaxa(taxonIds: readonly number[]): Promise<Map<number, number>> {
    const { rows } = await this.pool.query<{ ownerTaxonId: number; count: number }>(
      hotStatement(this.namedStatements, "image.count_for_taxa", COUNT_FOR_TAXA, [taxonIds]),
    );
    return new Map(rows.map((row) => [row.ownerTaxonId, row.count]));
  }

  async hasEmbedding(imageId: string, modelVersionId: number): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `SELECT 1 FROM image_embedding WHERE image_id = $1 AND model_version_id = $2`,
      [imageId, modelVersionId],
    );
    return (rowCount ?? 0) > 0;
  }

  /**
   * Nearest images by cosine distance under one model version. Unfiltered and broadly filtered
   * searches use the HNSW index; when the subtree filter leaves few candidates the search is
   * exact, since HNSW with a selective filter would have to scan far to find k matches.
   */
  async findSimilar(query: SimilarImagesQuery): Promise<SimilarImageHit[]> {
    return withTransaction(this.pool, async (client) => {
      if (query.withinTaxonId !== undefined) {
        const { rows } = await client.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM (
             SELECT 1 FROM image_embedding e JOIN image i ON i.id = e.image_id
             WHERE e.model_version_id = $1 AND ${inImageSubtree("$2")} LIMIT $3) s`,
          [query.modelVersionId, query.withinTaxonId, query.exactCandidateLimit + 1],
        );
        if (rows[0]!.n <= query.exactCandidateLimit) {
          // A MATERIALIZED CTE cannot be read through the HNSW index: this ranks every candidate.
          const exact = await client.query<SimilarImageHit>(
            `WITH q AS (SELECT embedding FROM image_embedding WHERE image_id = $1 AND model_version_id = $2),
             candidates AS MATERIALIZED (
               SELECT e.image_id, e.embedding FROM image_embedding e JOIN image i ON i.id = e.image_id
               WHERE e.model_version_id = $2 AND e.image_id <> $1 AND ${inImageSubtree("$3")})
             SELECT c.image_id AS "imageId", (c.embedding <=> q.embedding)::float8 AS distance
             FROM candidates c, q ORDER BY distance, c.image_id LIMIT $4`,
            [query.imageId, query.modelVersionId, query.withinTaxonId, query.k],
          );
          return exact.rows;
        }
      }
      for (const statement of hnswSearchSettings(Math.max(query.efSearch, query.k))) await client.query(statement);
      // The planner cannot see a subtree's size (its bounds are parameters) and, left alone, ranks
      // every image of it, however many: ordering by the index instead needs no sort.
      if (query.withinTaxonId !== undefined) await client.query("SET LOCAL enable_sort = off");
      const filter = query.withinTaxonId === undefined ? "" : `AND ${inImageSubtree("$4")}`;
      const params: unknown[] = [query.imageId, query.modelVersionId, query.k];
      if (query.withinTaxonId !== undefined) params.push(query.withinTaxonId);
      // relaxed_order may return neighbours slightly out of order: the outer ORDER BY fixes that.
      const { rows } = await client.query<SimilarImageHit>(
        `SELECT "imageId", distance FROM (
           SELECT e.image_id AS "imageId", (e.embedding <=> (SELECT embedding FROM image_embedding WHERE image_id = $1 AND model_version_id = $2))::float8 AS distance
           FROM image_embedding e ${query.withinTaxonId === undefined ? "" : "JOIN image i ON i.id = e.image_id"}
           WHERE e.model_version_id = $2 AND e.image_id <> $1 ${filter}
           ORDER BY e.embedding <=> (SELECT embedding FROM image_embedding WHERE image_id = $1 AND model_version_id = $2)
           LIMIT $3
         ) s ORDER BY distance, "imageId"`,
        params,
      );
      return rows;
    });
  }
}
