import type { Pool } from "../db.ts";
import { withTransaction } from "../db.ts";
import { hnswSearchSettings } from "../sql/vector.ts";

export interface SimilarTaxonHit {
  taxonId: number;
  /** Cosine distance between the two taxa's image prototypes. */
  distance: number;
}

/**
 * $1 taxon, $2 model version, $3 k. `kind = 'prototype'` is written out, not a parameter: it is the
 * predicate of the partial HNSW index (migration 20261128000300), which the planner can only use
 * when it sees it.
 */
export const SIMILAR_BY_PROTOTYPE = `WITH me AS (
     SELECT te.embedding, t.rank FROM taxon_embedding te JOIN taxon t ON t.id = te.taxon_id
     WHERE te.taxon_id = $1 AND te.model_version_id = $2 AND te.kind = 'prototype')
   SELECT "taxonId", distance FROM (
     SELECT te.taxon_id AS "taxonId", (te.embedding <=> (SELECT embedding FROM me))::float8 AS distance
     FROM taxon_embedding te JOIN taxon t ON t.id = te.taxon_id
     WHERE te.model_version_id = $2 AND te.kind = 'prototype' AND te.taxon_id <> $1
       AND t.rank = (SELECT rank FROM me)
     ORDER BY te.embedding <=> (SELECT embedding FROM me) LIMIT $3
   ) s ORDER BY distance, "taxonId"`;

export class TaxonEmbeddingRepository {
  constructor(private readonly pool: Pool) {}

  /**
   * Taxa of the same rank whose image prototype (centroid of their images' embeddings) is nearest
   * to this taxon's, under one model version. Empty when the taxon has no images.
   */
  async findSimilarByPrototype(taxonId: number, modelVersionId: number, k: number, efSearch: number): Promise<SimilarTaxonHit[]> {
    return withTransaction(this.pool, async (client) => {
      for (const statement of hnswSearchSettings(Math.max(efSearch, k))) await client.query(statement);
      const { rows } = await client.query<SimilarTaxonHit>(SIMILAR_BY_PROTOTYPE, [taxonId, modelVersionId, k]);
      return rows;
    });
  }
}
