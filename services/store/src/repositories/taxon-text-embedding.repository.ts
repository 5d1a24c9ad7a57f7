import type { Pool, PoolClient } from "../db.ts";
import type { LineageRank } from "../importers/ranks.ts";
import { encodeVectorBinary, parseVector } from "../sql/vector.ts";

/** A taxon with the names of its 7-rank lineage, what a text label is built from. */
export interface TaxonLineageRow {
  taxonId: number;
  rank: string;
  scientificName: string;
  commonName: string | null;
  /** Names of the taxon and its ancestors at the seven lineage ranks (absent ranks are missing). */
  lineage: Partial<Record<LineageRank, string>>;
}

export interface TaxaLackingTextFilter {
  rank: string;
  /** Only this taxon and its descendants (lineage GIN index). */
  rootTaxonId?: number;
}

export interface TaxonTextEmbeddingInput {
  taxonId: number;
  embedding: Float32Array;
}

export interface UpsertCounts {
  /** Rows inserted or changed. */
  written: number;
  /** Rows already holding the same vector. */
  unchanged: number;
}

type Executor = Pick<PoolClient, "query">;

// Rows per multi-row INSERT carrying binary vectors (3 KB each): keeps one statement a few MB.
const ROWS_PER_STATEMENT = 250;

const LINEAGE_RANK_LIST = `('kingdom', 'phylum', 'class', 'order', 'family', 'genus', 'species')`;

/**
 * Text embeddings of taxa (taxon_embedding, kind 'text'), per model version: the taxa that still
 * lack one, with their lineage names, and idempotent upserts.
 */
export class TaxonTextEmbeddingRepository {
  constructor(private readonly pool: Pool) {}

  /** Taxa of `filter.rank` (under `rootTaxonId`) without a text embedding for the model version. */
  async countLacking(modelVersionId: number, filter: TaxaLackingTextFilter): Promise<number> {
    const { rows } = await this.pool.query<{ count: number }>(
      `SELECT count(*)::int AS count FROM taxon t WHERE ${lackingCondition(filter)}`,
      lackingParams(modelVersionId, filter),
    );
    return rows[0]!.count;
  }

  /**
   * The next `limit` taxa lacking a text embedding, by id after `afterId` (keyset pagination:
   * each page is one short statement, so no transaction stays open between pages).
   */
  async getLackingPage(modelVersionId: number, filter: TaxaLackingTextFilter, afterId: number, limit: number): Promise<TaxonLineageRow[]> {
    const params = lackingParams(modelVersionId, filter);
    params.push(afterId, limit);
    const { rows } = await this.pool.query<TaxonLineageRow>(
      `SELECT t.id AS "taxonId", t.rank::text AS rank, t.scientific_name AS "scientificName", t.common_name AS "commonName",
              COALESCE((SELECT json_object_agg(a.rank, a.scientific_name ORDER BY a.depth)
                          FROM taxon a
                         WHERE a.id = ANY(t.ancestor_ids || t.id) AND a.rank IN ${LINEAGE_RANK_LIST}), '{}'::json) AS lineage
         FROM taxon t
        WHERE ${lackingCondition(filter)} AND t.id > $${params.length - 1}
        ORDER BY t.id
        LIMIT $${params.length}`,
      params,
    );
    return rows;
  }

  /** Streams every taxon lacking a text embedding, page by page (see getLackingPage). */
  async *streamLacking(modelVersionId: number, filter: TaxaLackingTextFilter, pageSize: number): AsyncGenerator<TaxonLineageRow[]> {
    let afterId = 0;
    for (;;) {
      const page = await this.getLackingPage(modelVersionId, filter, afterId, pageSize);
      if (page.length === 0) return;
      yield page;
      afterId = page[page.length - 1]!.taxonId;
    }
  }

  /**
   * Stores text embeddings of one model version (vectors as given). Unchanged vectors are not
   * rewritten, so a repeated run writes nothing. Pass a transaction's client to commit them with
   * other writes (an import checkpoint).
   */
  async upsert(modelVersionId: number, rows: readonly TaxonTextEmbeddingInput[], executor: Executor = this.pool): Promise<UpsertCounts> {
    let written = 0;
    for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
      const chunk = rows.slice(start, start + ROWS_PER_STATEMENT);
      const params: unknown[] = [modelVersionId];
      const values = chunk.map((row) => {
        params.push(row.taxonId, encodeVectorBinary(row.embedding));
        return `($${params.length - 1}::int, $1::int, 'text'::taxon_embedding_kind, $${params.length}::vector, 0)`;
      });
      const result = await executor.query(
        `INSERT INTO taxon_embedding (taxon_id, model_version_id, kind, embedding, image_count) VALUES ${values.join(", ")}
         ON CONFLICT (taxon_id, model_version_id, kind) DO UPDATE SET embedding = excluded.embedding, created_at = now()
         WHERE taxon_embedding.embedding IS DISTINCT FROM excluded.embedding`,
        params,
      );
      written += result.rowCount ?? 0;
    }
    return { written, unchanged: rows.length - written };
  }

  /** Stored text embeddings of the given taxa under one model version. */
  async getByTaxonIds(modelVersionId: number, taxonIds: readonly number[]): Promise<Map<number, Float32Array>> {
    if (taxonIds.length === 0) return new Map();
    const { rows } = await this.pool.query<{ taxonId: number; embedding: string }>(
      `SELECT taxon_id AS "taxonId", embedding::text AS embedding FROM taxon_embedding
        WHERE model_version_id = $1 AND kind = 'text' AND taxon_id = ANY($2::int[])`,
      [modelVersionId, taxonIds],
    );
    return new Map(rows.map((row) => [row.taxonId, parseVector(row.embedding)]));
  }

  async countByModelVersion(modelVersionId: number): Promise<number> {
    const { rows } = await this.pool.query<{ count: number }>(
      `SELECT count(*)::int AS count FROM taxon_embedding WHERE model_version_id = $1 AND kind = 'text'`,
      [modelVersionId],
    );
    return rows[0]!.count;
  }
}

function lackingCondition(filter: TaxaLackingTextFilter): string {
  // Two shapes rather than `$3 IS NULL OR …`, so the planner can use the lineage GIN index for a subtree.
  const subtree = filter.rootTaxonId === undefined ? "" : `AND (t.id = $3 OR t.ancestor_ids @> ARRAY[$3::int])`;
  return `t.rank = $2::taxon_rank ${subtree}
    AND NOT EXISTS (SELECT 1 FROM taxon_embedding te WHERE te.taxon_id = t.id AND te.model_version_id = $1 AND te.kind = 'text')`;
}

function lackingParams(modelVersionId: number, filter: TaxaLackingTextFilter): unknown[] {
  return filter.rootTaxonId === undefined ? [modelVersionId, filter.rank] : [modelVersionId, filter.rank, filter.rootTaxonId];
}

