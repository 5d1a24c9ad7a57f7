import { hotStatement, type Pool } from "../db.ts";
import { escapeLike } from "../sql/like.ts";

export interface TaxonRow {
  id: number;
  parentId: number | null;
  rank: string;
  scientificName: string;
  authorship: string | null;
  commonName: string | null;
  /** Lineage, root first, parent last. */
  ancestorIds: number[];
  depth: number;
  childCount: number;
}

export interface TaxonSearchHit {
  taxon: TaxonRow;
  matchedName: string;
  matchKind: "scientific" | "synonym" | "vernacular";
  /** 1 = exact, then prefix, then trigram similarity (0..1). */
  score: number;
}

export interface TaxonNameRow {
  taxonId: number;
  name: string;
  kind: "scientific" | "synonym" | "vernacular";
  language: string | null;
  isPreferred: boolean;
}

export interface RankCount {
  rank: string;
  count: number;
}

/** The columns of a TaxonRow, from the taxon table aliased `t`. */
export const taxonColumns = (t: string) => `${t}.id, ${t}.parent_id AS "parentId", ${t}.rank::text AS rank, ${t}.scientific_name AS "scientificName",
  ${t}.authorship, ${t}.common_name AS "commonName", ${t}.ancestor_ids AS "ancestorIds", ${t}.depth, ${t}.child_count AS "childCount"`;
const COLUMNS = taxonColumns("t");

/** One page of `parent`'s children by (scientific name, id), after the key (`afterName`, `afterId`) when that is not NULL; arguments are SQL expressions. */
export const childrenPageSql = (parent: string, limit: string, afterName: string, afterId: string) =>
  `SELECT ${COLUMNS} FROM taxon t
    WHERE t.parent_id = ${parent} AND (${afterName}::text IS NULL OR (t.scientific_name, t.id) > (${afterName}::text, ${afterId}::int))
    ORDER BY t.scientific_name, t.id LIMIT ${limit}`;

/** The taxa of `ancestorIds` (an int[] expression) in lineage order. */
export const lineageSql = (ancestorIds: string) =>
  `SELECT ${COLUMNS} FROM unnest(${ancestorIds}) WITH ORDINALITY AS l(id, n) JOIN taxon t ON t.id = l.id ORDER BY l.n`;

const BY_IDS = `SELECT ${COLUMNS} FROM taxon t WHERE t.id = ANY($1::int[])`;

const NAMES = `SELECT taxon_id AS "taxonId", name, kind::text AS kind, language, is_preferred AS "isPreferred"
  FROM taxon_name WHERE taxon_id = ANY($1::int[]) ORDER BY taxon_id, kind, is_preferred DESC, name`;

const CHILDREN = `SELECT c.* FROM unnest($1::int[]) AS p(id) CROSS JOIN LATERAL (${childrenPageSql("p.id", "$2", "$3", "$4")}) c`;

export class TaxonRepository {
  /** `namedStatements`: send the hot reads as named statements (see supportsNamedStatements). */
  constructor(
    private readonly pool: Pool,
    private readonly namedStatements = false,
  ) {}

  async getByIds(ids: readonly number[]): Promise<TaxonRow[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.pool.query<TaxonRow>(hotStatement(this.namedStatements, "taxon.by_ids", BY_IDS, [ids]));
    return rows;
  }

  async getNames(taxonIds: readonly number[]): Promise<TaxonNameRow[]> {
    if (taxonIds.length === 0) return [];
    const { rows } = await this.pool.query<TaxonNameRow>(hotStatement(this.namedStatements, "taxon.names", NAMES, [taxonIds]));
    return rows;
  }

  /** Exact scientific name (case-insensitive); the highest rank wins when names repeat across ranks. */
  async getByScientificName(name: string): Promise<TaxonRow | null> {
    const { rows } = await this.pool.query<TaxonRow>(
      `SELECT ${COLUMNS} FROM taxon_name n JOIN taxon t ON t.id = n.taxon_id
       WHERE lower(n.name) = lower($1) AND n.kind = 'scientific'
       ORDER BY t.depth, t.id LIMIT 1`,
      [name],
    );
    return rows[0] ?? null;
  }

  /**
   * Children of several parents in one statement, `limit` each, ordered by name then id;
   * `after` is the (name, id) key of the last child already seen, the same for every parent.
   */
  async getChildren(
    parentIds: readonly number[],
    limit: number,
    after: { name: string; id: number } | null,
  ): Promise<TaxonRow[]> {
    if (parentIds.length === 0) return [];
    const { rows } = await this.pool.query<TaxonRow>(
      hotStatement(this.namedStatements, "taxon.children", CHILDREN, [parentIds, limit, after?.name ?? null, after?.id ?? 0]),
    );
    return rows;
  }

  async getRoots(): Promise<TaxonRow[]> {
    const { rows } = await this.pool.query<TaxonRow>(
      `SELECT ${COLUMNS} FROM taxon t WHERE t.parent_id IS NULL ORDER BY t.scientific_name, t.id`,
    );
    return rows;
  }

  /** Descendants of each taxon counted by rank, from the lineage GIN index. */
  async countDescendantsByRank(taxonIds: readonly number[]): Promise<Map<number, RankCount[]>> {
    const result = new Map<number, RankCount[]>(taxonIds.map((id) => [id, []]));
    if (taxonIds.length === 0) return result;
    const { rows } = await this.pool.query<{ ownerId: number; rank: string; count: number }>(
      `SELECT p.id AS "ownerId", t.rank::text AS rank, count(*)::int AS count
       FROM unnest($1::int[]) AS p(id) JOIN taxon t ON t.ancestor_ids @> ARRAY[p.id]
       GROUP BY p.id, t.rank ORDER BY p.id, t.rank`,
      [taxonIds],
    );
    for (const row of rows) result.get(row.ownerId)?.push({ rank: row.rank, count: row.count });
    return result;
  }

  /**
   * Ranked name search: exact, then prefix (btree on lower(name)), then typo-tolerant matches.
   * Trigram similarity (GIN on lower(name)) finds the fuzzy candidates; edit distance ranks them,
   * since trigram scores favour short names ("Corvus" over "Corvus corax" for "corvus coraks").
   * One row per taxon, its best-matching name kept.
   */
  async search(query: string, options: { rank?: string; limit: number; offset: number; minSimilarity: number }): Promise<TaxonSearchHit[]> {
    const needle = query.trim().toLowerCase();
    if (needle === "") return [];
    const { rows } = await this.pool.query<TaxonRow & { matchedName: string; matchKind: TaxonSearchHit["matchKind"]; score: number }>(
      `WITH candidates AS (
         SELECT n.taxon_id, n.name, n.kind,
           CASE WHEN lower(n.name) = $1 THEN 2.0
                WHEN lower(n.name) LIKE $2 ESCAPE '\\' THEN 1.0 + length($1)::float8 / length(n.name) / 2
                ELSE 1.0 - levenshtein(left(lower(n.name), 255), left($1, 255))::float8 / greatest(length(n.name), length($1))
           END AS score
         FROM taxon_name n
         WHERE lower(n.name) LIKE $2 ESCAPE '\\'
            OR (lower(n.name) % $1 AND similarity(lower(n.name), $1) >= $5)
       ), best AS (
         SELECT DISTINCT ON (taxon_id) taxon_id, name, kind, score FROM candidates
         ORDER BY taxon_id, score DESC, kind
       )
       SELECT ${COLUMNS}, b.name AS "matchedName", b.kind::text AS "matchKind", b.score::float8 AS score
       FROM best b JOIN taxon t ON t.id = b.taxon_id
       WHERE ($6::text IS NULL OR t.rank::text = $6)
       ORDER BY b.score DESC, t.depth, t.scientific_name, t.id
       LIMIT $3 OFFSET $4`,
      [needle, `${escapeLike(needle)}%`, options.limit, options.offset, options.minSimilarity, options.rank ?? null],
    );
    return rows.map(({ matchedName, matchKind, score, ...taxon }) => ({ taxon, matchedName, matchKind, score }));
  }
}
