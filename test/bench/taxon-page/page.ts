import type pg from "pg";
import { inImageSubtree } from "@arbor/store/repositories/image.repository.ts";

/**
 * The taxon page both servers answer: the GraphQL document, and the hand-written SQL that returns
 * the same data with the same semantics as the API's resolvers and repositories:
 * ancestors root first; the first 20 children by (scientific name, id); traits by (source, name);
 * the 12 newest images of the taxon's SUBTREE (the taxon and every descendant) by
 * (created_at DESC, id DESC).
 */

export const TAXON_PAGE_QUERY = `query($id:Int!){ taxon(id:$id){ id scientificName rank commonName ancestors{ id scientificName rank } children(first:20){ edges{ node{ id scientificName rank childCount } } } traits{ name numericValue textValue unit source } images(first:12){ edges{ node{ id sourceUrl license rightsHolder } } } } }`;

export const CHILDREN_PAGE = 20;
export const IMAGES_PAGE = 12;

export interface TaxonPage {
  id: number;
  scientificName: string;
  rank: string;
  commonName: string | null;
  ancestors: Array<{ id: number; scientificName: string; rank: string }>;
  children: { edges: Array<{ node: { id: number; scientificName: string; rank: string; childCount: number } }> };
  traits: Array<{ name: string; numericValue: number | null; textValue: string | null; unit: string | null; source: string }>;
  images: { edges: Array<{ node: { id: string; sourceUrl: string | null; license: string | null; rightsHolder: string | null } }> };
}

const TAXON_SQL = `SELECT id, scientific_name AS "scientificName", rank::text AS rank, common_name AS "commonName" FROM taxon WHERE id = $1`;

const ANCESTORS_SQL = `SELECT a.id, a.scientific_name AS "scientificName", a.rank::text AS rank
  FROM taxon t CROSS JOIN LATERAL unnest(t.ancestor_ids) WITH ORDINALITY AS u(id, ord) JOIN taxon a ON a.id = u.id
  WHERE t.id = $1 ORDER BY u.ord`;

const CHILDREN_SQL = `SELECT id, scientific_name AS "scientificName", rank::text AS rank, child_count AS "childCount"
  FROM taxon WHERE parent_id = $1 ORDER BY scientific_name, id LIMIT ${CHILDREN_PAGE}`;

const TRAITS_SQL = `SELECT name, numeric_value AS "numericValue", text_value AS "textValue", unit, source
  FROM trait WHERE taxon_id = $1 ORDER BY source, name`;

// The subtree as the store reads it (one range of image_taxon_path_idx), the newest keys from the
// index alone, then their rows: what a hand-written query on this schema would do.
const NEWEST_SUBTREE_IMAGES = (taxon: string) => `SELECT i.* FROM (SELECT s.id, s.created_at FROM image s WHERE ${inImageSubtree(taxon, "s")}
    ORDER BY s.created_at DESC, s.id DESC LIMIT ${IMAGES_PAGE}) newest JOIN image i ON i.id = newest.id`;

const IMAGES_SQL = `SELECT i.id, i.source_url AS "sourceUrl", i.license, i.rights_holder AS "rightsHolder"
  FROM (${NEWEST_SUBTREE_IMAGES("$1::int")}) i ORDER BY i.created_at DESC, i.id DESC`;

/** The raw handler's statements, each taking the taxon id as $1 (in the order the handler reads them). */
export const RAW_STATEMENTS = { taxon: TAXON_SQL, ancestors: ANCESTORS_SQL, children: CHILDREN_SQL, traits: TRAITS_SQL, images: IMAGES_SQL };

/**
 * The page from five statements run concurrently on the pool (one round trip of latency), rows
 * mapped to the response shape in JavaScript: what a hand-written Node handler would do.
 */
export async function loadPageWithStatements(pool: pg.Pool, id: number): Promise<TaxonPage | null> {
  const [taxon, ancestors, children, traits, images] = await Promise.all(Object.values(RAW_STATEMENTS).map((sql) => pool.query(sql, [id])));
  const row = taxon.rows[0];
  if (!row) return null;
  return {
    ...row,
    ancestors: ancestors.rows,
    children: { edges: children.rows.map((node) => ({ node })) },
    traits: traits.rows,
    images: { edges: images.rows.map((node) => ({ node })) },
  };
}

/** The whole page as JSON text built by PostgreSQL in one statement: the floor for a Node server. */
export const PAGE_JSON_SQL = `SELECT json_build_object(
    'id', t.id, 'scientificName', t.scientific_name, 'rank', t.rank, 'commonName', t.common_name,
    'ancestors', coalesce((
      SELECT json_agg(json_build_object('id', a.id, 'scientificName', a.scientific_name, 'rank', a.rank) ORDER BY u.ord)
      FROM unnest(t.ancestor_ids) WITH ORDINALITY AS u(id, ord) JOIN taxon a ON a.id = u.id), '[]'),
    'children', json_build_object('edges', coalesce((
      SELECT json_agg(json_build_object('node', json_build_object('id', c.id, 'scientificName', c.scientific_name, 'rank', c.rank, 'childCount', c.child_count))
        ORDER BY c.scientific_name, c.id)
      FROM (SELECT * FROM taxon WHERE parent_id = t.id ORDER BY scientific_name, id LIMIT ${CHILDREN_PAGE}) c), '[]')),
    'traits', coalesce((
      SELECT json_agg(json_build_object('name', r.name, 'numericValue', r.numeric_value, 'textValue', r.text_value, 'unit', r.unit, 'source', r.source)
        ORDER BY r.source, r.name)
      FROM trait r WHERE r.taxon_id = t.id), '[]'),
    'images', json_build_object('edges', coalesce((
      SELECT json_agg(json_build_object('node', json_build_object('id', i.id, 'sourceUrl', i.source_url, 'license', i.license, 'rightsHolder', i.rights_holder))
        ORDER BY i.created_at DESC, i.id DESC)
      FROM (${NEWEST_SUBTREE_IMAGES("t.id")}) i), '[]'))
  )::text AS page
  FROM taxon t WHERE t.id = $1`;

/** The page's JSON text, or null when the taxon does not exist. */
export async function loadPageAsJson(pool: pg.Pool, id: number): Promise<string | null> {
  const { rows } = await pool.query<{ page: string }>(PAGE_JSON_SQL, [id]);
  return rows[0]?.page ?? null;
}
