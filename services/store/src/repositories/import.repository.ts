import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import copyStreams from "pg-copy-streams";
import type { Pool, PoolClient } from "../db.ts";
import { encodeVectorBinary } from "../sql/vector.ts";

/** One node of a taxonomy in the shape every importer parser emits (see import_taxon_staging). */
export interface StagedTaxonNode {
  sourceKey: string;
  parentSourceKey: string | null;
  /** Set for a synonym: its name becomes a synonym of that key's taxon. */
  acceptedSourceKey: string | null;
  /** null only for synonyms. */
  rank: string | null;
  /** null for an unnamed placeholder node (its children hang from its nearest named ancestor). */
  scientificName: string | null;
  authorship: string | null;
  commonName: string | null;
  commonNameLanguage: string | null;
  externalId: string | null;
  lineNo: number;
}

/** An extra vernacular name of a staged node. */
export interface StagedName {
  sourceKey: string;
  name: string;
  language: string | null;
  isPreferred: boolean;
  lineNo: number;
}

export interface ImportCheckpointRow {
  kind: string;
  fileSha256: string;
  fileName: string;
  rowsDone: number;
  completed: boolean;
  stats: Record<string, number>;
}

export interface DuplicateKey {
  sourceKey: string;
  lineNo: number;
  firstLineNo: number;
}

export interface OrphanRow {
  lineNo: number;
  sourceKey: string;
  /** The missing key: a parent, or for a synonym its accepted taxon. */
  missingKey: string;
  isSynonym: boolean;
}

export interface ResolutionStats {
  /** Taxa created. */
  inserted: number;
  /** Staged nodes merged into an existing taxon. */
  merged: number;
  /** Existing taxa moved under a more specific parent (a rank their source had skipped). */
  reparented: number;
  synonyms: number;
  /** Named nodes left unresolved (orphans, their descendants, parent cycles). */
  unresolved: number;
}

export interface ResolveOptions {
  /**
   * Write resolved ids back to the staging rows, for imports that stage and resolve batch by batch
   * (embeddings): a later batch's nodes find their parents there.
   */
  persist: boolean;
}

export interface ImageInput {
  source: string;
  sourceId: string;
  sourceUrl: string | null;
  publisher: string | null;
  basisOfRecord: string | null;
  license: string | null;
  rightsHolder: string | null;
  taxonId: number | null;
}

export interface PrototypeStats {
  /** Taxa with at least one image in their subtree, i.e. prototypes that now exist. */
  prototypes: number;
  /** Rows inserted or changed. */
  written: number;
  /** Prototypes removed because their taxon no longer has images. */
  deleted: number;
}

interface Column {
  name: string;
  /** SQL type of the load table's column and of the unnest() array. */
  type: "text" | "int" | "bool" | "taxon_rank";
}

const NODE_COLUMNS: Column[] = [
  { name: "source_key", type: "text" },
  { name: "parent_source_key", type: "text" },
  { name: "accepted_source_key", type: "text" },
  { name: "rank", type: "taxon_rank" },
  { name: "scientific_name", type: "text" },
  { name: "authorship", type: "text" },
  { name: "common_name", type: "text" },
  { name: "common_name_language", type: "text" },
  { name: "external_id", type: "text" },
  { name: "line_no", type: "int" },
];

// A batch of a keyed format loaded straight into import_taxon_staging.
const STAGING_COLUMNS: Column[] = [{ name: "import_key", type: "text" }, ...NODE_COLUMNS];

const NAME_COLUMNS: Column[] = [
  { name: "source_key", type: "text" },
  { name: "name", type: "text" },
  { name: "language", type: "text" },
  { name: "is_preferred", type: "bool" },
  { name: "line_no", type: "int" },
];

// Staged rows that become taxa (named, with a rank) or pass through (unnamed placeholders).
const READY_CONDITION = `s.accepted_source_key IS NULL AND (s.scientific_name IS NULL OR s.rank IS NOT NULL)`;
// A taxon's preferred common name is English; a name of undetermined language ('und') is the
// fallback when no English one is staged (staging keeps the English one when both are).
const COMMON_NAME_LANGUAGES = `COALESCE(s.common_name_language, 'en') IN ('en', 'und')`;
const READY_COLUMNS = `s.rank, s.scientific_name, s.authorship,
  CASE WHEN ${COMMON_NAME_LANGUAGES} THEN s.common_name END, s.line_no`;
// A later row's common name replaces the staged one when there was none, or when it is English and
// the staged one is not.
const UPGRADES_COMMON_NAME = `(excluded.common_name IS NOT NULL AND (import_taxon_staging.common_name IS NULL
  OR (COALESCE(excluded.common_name_language, 'en') = 'en' AND COALESCE(import_taxon_staging.common_name_language, 'en') <> 'en')))`;
// Rows per multi-row INSERT carrying binary vectors (3 KB each): keeps one statement a few MB.
const EMBEDDING_ROWS_PER_STATEMENT = 250;
// COPY text is sent in chunks of about this many characters: one CopyData message and socket write
// per chunk, not per row.
const COPY_CHUNK_CHARS = 1 << 18;
// Session memory for the resolution's temp tables (_ready, _node, _named: about 1 M rows each for a
// 1 M-taxon file), which the default 8 MB of temp_buffers spills to disk and reads back.
const BULK_TEMP_BUFFERS = "512MB";
// GIN entries of new taxa (lineage) and names (trigrams) gather in the pending list and are merged
// into the index once, in bulk, at the end of the resolution, rather than every 4 MB (the default).
const BULK_GIN_PENDING_LIST_LIMIT = "1GB";
const UNIQUE_VIOLATION = "23505";
// What a GUC check hook raises, e.g. temp_buffers changed after the session used temp tables.
const INVALID_PARAMETER_VALUE = "22023";

/**
 * All SQL of the import CLI and the demo seed: checkpoints, staging, the set-based resolution of
 * staged taxa into the tree, image and embedding upserts, and taxon prototypes.
 * Every write takes the transaction's client, so a batch commits or rolls back as a whole.
 */
export class ImportRepository {
  private embedded: Promise<boolean> | undefined;
  private ginIndexes: Promise<GinIndexes> | undefined;

  constructor(private readonly pool: Pool) {}

  // ---------------------------------------------------------------- checkpoints

  async getCheckpoint(kind: string, fileSha256: string): Promise<ImportCheckpointRow | null> {
    const { rows } = await this.pool.query<ImportCheckpointRow>(
      `SELECT kind, file_sha256 AS "fileSha256", file_name AS "fileName", rows_done AS "rowsDone", completed, stats
       FROM import_checkpoint WHERE kind = $1 AND file_sha256 = $2`,
      [kind, fileSha256],
    );
    return rows[0] ?? null;
  }

  async saveCheckpoint(client: PoolClient, row: ImportCheckpointRow): Promise<void> {
    await client.query(
      `INSERT INTO import_checkpoint (kind, file_sha256, file_name, rows_done, completed, stats, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, now())
       ON CONFLICT (kind, file_sha256) DO UPDATE
         SET file_name = excluded.file_name, rows_done = excluded.rows_done, completed = excluded.completed,
             stats = excluded.stats, updated_at = now()`,
      [row.kind, row.fileSha256, row.fileName, row.rowsDone, row.completed, JSON.stringify(row.stats)],
    );
  }

  /** Forgets an import (checkpoint and staged rows) so that it runs again from the first row. */
  async resetImport(kind: string, fileSha256: string, importKey: string): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      await client.query(`DELETE FROM import_checkpoint WHERE kind = $1 AND file_sha256 = $2`, [kind, fileSha256]);
      await this.clearStaging(client, importKey);
      await client.query("COMMIT");
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async clearStaging(client: PoolClient, importKey: string): Promise<void> {
    await client.query(`DELETE FROM import_taxon_staging WHERE import_key = $1`, [importKey]);
    await client.query(`DELETE FROM import_name_staging WHERE import_key = $1`, [importKey]);
  }

  // ---------------------------------------------------------------- staging

  /**
   * Adds a batch of nodes (and extra names) to the staging tables. A key staged again keeps its
   * first row, gaining a common name or external id it lacked (lineage files repeat every ancestor).
   * With `uniqueKeys` (parent/child and DwC-A files, where a key is an identifier) a repeated key is
   * reported instead, with the line that first used it.
   */
  async stageTaxa(
    client: PoolClient,
    importKey: string,
    nodes: readonly StagedTaxonNode[],
    names: readonly StagedName[],
    options: { uniqueKeys: boolean },
  ): Promise<DuplicateKey[]> {
    if (options.uniqueKeys && names.length === 0 && (await this.stageKeyedBatch(client, importKey, nodes))) return [];
    await this.useLargeTempBuffers(client);
    await client.query(
      `CREATE TEMP TABLE IF NOT EXISTS _load_nodes (${NODE_COLUMNS.map((c) => `${c.name} ${c.type}`).join(", ")}) ON COMMIT DROP`,
    );
    await client.query(`TRUNCATE _load_nodes`);
    await this.bulkLoad(
      client,
      "_load_nodes",
      NODE_COLUMNS,
      nodes.map(nodeRow),
    );
    if (options.uniqueKeys) {
      const { rows } = await client.query<DuplicateKey>(
        `SELECT source_key AS "sourceKey", max(line_no) AS "lineNo", min(line_no) AS "firstLineNo"
           FROM _load_nodes GROUP BY source_key HAVING count(*) > 1
         UNION ALL
         SELECT n.source_key, n.line_no, s.line_no
           FROM _load_nodes n JOIN import_taxon_staging s ON s.import_key = $1 AND s.source_key = n.source_key
          WHERE s.line_no <> n.line_no
         ORDER BY 2 LIMIT 100`,
        [importKey],
      );
      if (rows.length > 0) return rows;
    }
    await client.query(
      `INSERT INTO import_taxon_staging (import_key, source_key, parent_source_key, accepted_source_key, rank, scientific_name,
                                         authorship, common_name, common_name_language, external_id, line_no)
       SELECT DISTINCT ON (source_key) $1, source_key, parent_source_key, accepted_source_key, rank, scientific_name,
              authorship, common_name, common_name_language, external_id, line_no
         FROM _load_nodes
        ORDER BY source_key, (common_name IS NULL), (COALESCE(common_name_language, 'en') <> 'en'), (external_id IS NULL), line_no
       ON CONFLICT (import_key, source_key) DO UPDATE
         SET common_name = CASE WHEN ${UPGRADES_COMMON_NAME} THEN excluded.common_name ELSE import_taxon_staging.common_name END,
             common_name_language = CASE WHEN ${UPGRADES_COMMON_NAME} THEN excluded.common_name_language
                                         ELSE import_taxon_staging.common_name_language END,
             external_id = COALESCE(import_taxon_staging.external_id, excluded.external_id),
             names_done = false
       WHERE ${UPGRADES_COMMON_NAME}
          OR (import_taxon_staging.external_id IS NULL AND excluded.external_id IS NOT NULL)`,
      [importKey],
    );
    if (names.length > 0) {
      await client.query(
        `CREATE TEMP TABLE IF NOT EXISTS _load_names (${NAME_COLUMNS.map((c) => `${c.name} ${c.type}`).join(", ")}) ON COMMIT DROP`,
      );
      await client.query(`TRUNCATE _load_names`);
      await this.bulkLoad(
        client,
        "_load_names",
        NAME_COLUMNS,
        names.map((n) => [n.sourceKey, n.name, n.language ?? "", n.isPreferred, n.lineNo]),
      );
      await client.query(
        `INSERT INTO import_name_staging (import_key, source_key, name, language, is_preferred, line_no)
         SELECT $1, source_key, name, language, is_preferred, line_no FROM _load_names
         ON CONFLICT (import_key, source_key, name, language) DO NOTHING`,
        [importKey],
      );
      // Names staged for an already resolved node still have to reach taxon_name.
      await client.query(
        `UPDATE import_taxon_staging s SET names_done = false
          WHERE s.import_key = $1 AND s.names_done AND s.source_key IN (SELECT source_key FROM _load_names)`,
        [importKey],
      );
    }
    return [];
  }

  /**
   * A batch of a keyed format (no extra names) loaded straight into import_taxon_staging: no temp
   * table, duplicate query or upsert. The staging primary key still refuses a repeated key; then the
   * batch is rolled back to a savepoint and false returned, so that the general path finds and
   * reports the duplicates with their lines.
   */
  private async stageKeyedBatch(client: PoolClient, importKey: string, nodes: readonly StagedTaxonNode[]): Promise<boolean> {
    await client.query(`SAVEPOINT stage_keyed_batch`);
    try {
      await this.bulkLoad(client, "import_taxon_staging", STAGING_COLUMNS, nodes.map((node) => [importKey, ...nodeRow(node)]));
    } catch (error) {
      if (!isStagingKeyViolation(error)) throw error;
      await client.query(`ROLLBACK TO SAVEPOINT stage_keyed_batch`);
      return false;
    }
    await client.query(`RELEASE SAVEPOINT stage_keyed_batch`);
    return true;
  }

  /** Staged nodes whose parent (or accepted name) is neither staged nor known by external id. */
  async findOrphans(client: PoolClient, importKey: string, limit: number): Promise<{ count: number; rows: OrphanRow[] }> {
    const orphanSql = `
      SELECT s.line_no AS "lineNo", s.source_key AS "sourceKey",
             COALESCE(s.accepted_source_key, s.parent_source_key) AS "missingKey", s.accepted_source_key IS NOT NULL AS "isSynonym"
        FROM import_taxon_staging s
       WHERE s.import_key = $1 AND s.resolved_taxon_id IS NULL AND s.scientific_name IS NOT NULL
         AND ((s.accepted_source_key IS NULL AND s.parent_source_key IS NOT NULL AND s.parent_taxon_id IS NULL
               AND NOT EXISTS (SELECT 1 FROM import_taxon_staging p WHERE p.import_key = $1 AND p.source_key = s.parent_source_key))
           OR (s.accepted_source_key IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM import_taxon_staging a WHERE a.import_key = $1 AND a.source_key = s.accepted_source_key)))`;
    const { rows } = await client.query<OrphanRow>(`${orphanSql} ORDER BY s.line_no LIMIT $2`, [importKey, limit]);
    const { rows: count } = await client.query<{ count: number }>(`SELECT count(*) AS count FROM (${orphanSql}) o`, [importKey]);
    return { count: count[0]!.count, rows };
  }

  /**
   * Parent keys that are not in this file but were imported before from the same source (keyed
   * formats: an update file may name parents from an earlier one). Run before findOrphans.
   */
  async linkExternalParents(client: PoolClient, importKey: string, source: string): Promise<void> {
    await client.query(
      `UPDATE import_taxon_staging s SET parent_taxon_id = x.taxon_id
         FROM taxon_external_id x
        WHERE s.import_key = $1 AND s.resolved_taxon_id IS NULL AND s.parent_taxon_id IS NULL AND s.parent_source_key IS NOT NULL
          AND x.source = $2 AND x.external_id = s.parent_source_key
          AND NOT EXISTS (SELECT 1 FROM import_taxon_staging p WHERE p.import_key = $1 AND p.source_key = s.parent_source_key)`,
      [importKey, source],
    );
  }

  // ---------------------------------------------------------------- resolution

  /**
   * Resolves every unresolved staged node of `importKey` into `taxon`, level by level: roots first,
   * then the nodes whose parent is resolved. A node merges with an existing taxon of the same rank
   * and name that is
   *   1. its resolved parent's child (the natural key),
   *   2. below its resolved parent (the existing tree has a rank this source skips), or
   *   3. attached above its resolved parent (this source has a rank the existing tree skipped): the
   *      existing taxon then moves under the more specific parent, with its whole subtree;
   * a root merges with the only taxon of its rank and name anywhere. Otherwise a taxon is created
   * with ancestor_ids = parent's ancestor_ids || parent. Then names, synonyms, external ids, missing
   * common names and authorship, and child_count of every parent that changed.
   * Idempotent: a second run over the same rows merges everything and writes nothing.
   */
  async resolveStagedTaxa(client: PoolClient, importKey: string, source: string, options: ResolveOptions): Promise<ResolutionStats> {
    const stats: ResolutionStats = { inserted: 0, merged: 0, reparented: 0, synonyms: 0, unresolved: 0 };
    await this.useLargeTempBuffers(client);
    const ginIndexes = await this.deferGinMerges(client);
    await client.query(`CREATE TEMP TABLE IF NOT EXISTS _ready (
      source_key text PRIMARY KEY, parent_id int, rank taxon_rank, scientific_name text, authorship text,
      common_name text, line_no int, taxon_id int, match_kind int) ON COMMIT DROP`);
    // Every node resolved by this call, by level (-1: synonyms); placeholders carry their parent's id.
    await client.query(`CREATE TEMP TABLE IF NOT EXISTS _node (source_key text PRIMARY KEY, level int, taxon_id int, is_placeholder bool) ON COMMIT DROP`);
    await client.query(`CREATE TEMP TABLE IF NOT EXISTS _moved (id int PRIMARY KEY, old_parent int, new_ancestors int[]) ON COMMIT DROP`);
    await client.query(`CREATE TEMP TABLE IF NOT EXISTS _touched (id int) ON COMMIT DROP`);
    await client.query(`TRUNCATE _node, _touched`);
    // Freshly staged rows: without statistics the planner takes the staging table for empty.
    await client.query(`ANALYZE import_taxon_staging`);

    // Level 0: roots, and nodes whose parent was resolved before (an earlier call, or an external id).
    await client.query(`TRUNCATE _ready`);
    await client.query(
      `INSERT INTO _ready (source_key, parent_id, rank, scientific_name, authorship, common_name, line_no)
       SELECT s.source_key, COALESCE(p.resolved_taxon_id, s.parent_taxon_id), ${READY_COLUMNS}
         FROM import_taxon_staging s
         LEFT JOIN import_taxon_staging p ON p.import_key = s.import_key AND p.source_key = s.parent_source_key
        WHERE s.import_key = $1 AND s.resolved_taxon_id IS NULL AND ${READY_CONDITION}
          AND (s.parent_source_key IS NULL OR p.resolved_taxon_id IS NOT NULL
               OR (p.source_key IS NULL AND s.parent_taxon_id IS NOT NULL))`,
      [importKey],
    );
    for (let level = 0; ; level++) {
      await client.query(`ANALYZE _ready`);
      // An unnamed placeholder passes its parent on to its children.
      await client.query(`UPDATE _ready SET taxon_id = parent_id, match_kind = 0 WHERE scientific_name IS NULL`);
      await this.matchReady(client);
      stats.reparented += await this.moveUnderMoreSpecificParents(client);
      const { rows: matched } = await client.query<{ count: number }>(`SELECT count(*) AS count FROM _ready WHERE match_kind > 0`);
      stats.merged += matched[0]!.count;
      stats.inserted += await this.insertUnmatched(client, level);
      // The next level's collection joins _node with staging: planned for the previous level's size
      // it would probe the parent index once per node.
      await client.query(`ANALYZE _node`);
      // The next level: children of this one, through the (import_key, parent_source_key) index.
      await client.query(`TRUNCATE _ready`);
      const next = await client.query(
        `INSERT INTO _ready (source_key, parent_id, rank, scientific_name, authorship, common_name, line_no)
         SELECT s.source_key, n.taxon_id, ${READY_COLUMNS}
           FROM _node n
           JOIN import_taxon_staging s ON s.import_key = $1 AND s.parent_source_key = n.source_key
          WHERE n.level = $2 AND s.resolved_taxon_id IS NULL AND ${READY_CONDITION}`,
        [importKey, level],
      );
      if (!next.rowCount) break;
    }

    // Synonyms take their accepted name's taxon.
    const synonyms = await client.query(
      `INSERT INTO _node (source_key, level, taxon_id, is_placeholder)
       SELECT s.source_key, -1, COALESCE(n.taxon_id, a.resolved_taxon_id), false
         FROM import_taxon_staging s
         JOIN import_taxon_staging a ON a.import_key = s.import_key AND a.source_key = s.accepted_source_key
         LEFT JOIN _node n ON n.source_key = a.source_key AND NOT n.is_placeholder
        WHERE s.import_key = $1 AND s.accepted_source_key IS NOT NULL AND s.resolved_taxon_id IS NULL
          AND COALESCE(n.taxon_id, a.resolved_taxon_id) IS NOT NULL`,
      [importKey],
    );
    stats.synonyms = synonyms.rowCount ?? 0;
    await client.query(`ANALYZE _node`);
    await this.writeNamesAndIds(client, importKey, source);
    if (options.persist) {
      await client.query(
        `UPDATE import_taxon_staging s SET resolved_taxon_id = n.taxon_id, names_done = true
           FROM _node n WHERE s.import_key = $1 AND s.source_key = n.source_key`,
        [importKey],
      );
      await client.query(
        `UPDATE import_taxon_staging SET names_done = true WHERE import_key = $1 AND resolved_taxon_id IS NOT NULL AND NOT names_done`,
        [importKey],
      );
    }
    await this.refreshChildCounts(client);
    await this.mergeGinPendingLists(client, ginIndexes);
    const { rows } = await client.query<{ count: number }>(
      `SELECT count(*) AS count FROM import_taxon_staging s
        WHERE s.import_key = $1 AND s.resolved_taxon_id IS NULL AND s.scientific_name IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM _node n WHERE n.source_key = s.source_key)`,
      [importKey],
    );
    stats.unresolved = rows[0]!.count;
    return stats;
  }

  private async matchReady(client: PoolClient): Promise<void> {
    await client.query(`
      WITH candidate AS (
        SELECT r.source_key, t.id, t.depth, r.line_no,
               CASE WHEN t.parent_id IS NOT DISTINCT FROM r.parent_id THEN 1
                    WHEN r.parent_id IS NULL THEN 4
                    WHEN t.ancestor_ids @> ARRAY[r.parent_id] THEN 2
                    ELSE 3 END AS kind
          FROM _ready r
          JOIN taxon t ON t.scientific_name = r.scientific_name AND t.rank = r.rank
          LEFT JOIN taxon p ON p.id = r.parent_id
         WHERE t.parent_id IS NOT DISTINCT FROM r.parent_id
            OR (r.parent_id IS NOT NULL AND t.ancestor_ids @> ARRAY[r.parent_id])
            OR (r.parent_id IS NOT NULL AND p.rank < r.rank AND t.id <> p.id AND NOT p.ancestor_ids @> ARRAY[t.id]
                AND (t.parent_id IS NULL OR p.ancestor_ids @> ARRAY[t.parent_id]))
            OR (r.parent_id IS NULL AND NOT EXISTS (
                  SELECT 1 FROM taxon u WHERE u.scientific_name = r.scientific_name AND u.rank = r.rank AND u.id <> t.id))
      ), best AS (
        SELECT DISTINCT ON (source_key) source_key, id, kind FROM candidate ORDER BY source_key, kind, depth, id
      )
      UPDATE _ready r SET taxon_id = b.id, match_kind = b.kind FROM best b WHERE b.source_key = r.source_key`);
    // One existing taxon can move under one new parent only; other claimants get their own taxon.
    await client.query(`
      UPDATE _ready r SET taxon_id = NULL, match_kind = NULL
       WHERE r.match_kind = 3 AND EXISTS (
         SELECT 1 FROM _ready o WHERE o.match_kind = 3 AND o.taxon_id = r.taxon_id
            AND (o.line_no, o.source_key) < (r.line_no, r.source_key))`);
  }

  /** Moves kind-3 matches under their new parent and rewrites the lineage of their subtrees. */
  private async moveUnderMoreSpecificParents(client: PoolClient): Promise<number> {
    await client.query(`TRUNCATE _moved`);
    const moved = await client.query(
      `INSERT INTO _moved (id, old_parent)
       SELECT t.id, t.parent_id FROM _ready r JOIN taxon t ON t.id = r.taxon_id WHERE r.match_kind = 3`,
    );
    if (!moved.rowCount) return 0;
    await client.query(
      `UPDATE taxon t SET parent_id = r.parent_id, updated_at = now() FROM _ready r WHERE r.match_kind = 3 AND t.id = r.taxon_id`,
    );
    await client.query(`INSERT INTO _touched SELECT old_parent FROM _moved WHERE old_parent IS NOT NULL
                        UNION SELECT t.parent_id FROM _moved m JOIN taxon t ON t.id = m.id`);
    // New lineage of each moved taxon, walking the (already updated) parent links up to the root.
    await client.query(`
      WITH RECURSIVE up(node, ancestor, distance) AS (
        SELECT t.id, t.parent_id, 1 FROM _moved m JOIN taxon t ON t.id = m.id
        UNION ALL
        SELECT up.node, t.parent_id, up.distance + 1 FROM up JOIN taxon t ON t.id = up.ancestor WHERE t.parent_id IS NOT NULL
      )
      UPDATE _moved m SET new_ancestors = x.ancestors
        FROM (SELECT node, array_agg(ancestor ORDER BY distance DESC) AS ancestors FROM up GROUP BY node) x
       WHERE x.node = m.id`);
    // Descendants keep the part of their lineage below their nearest moved ancestor.
    await client.query(`
      UPDATE taxon d SET ancestor_ids = x.ancestors, depth = cardinality(x.ancestors)
        FROM (SELECT DISTINCT ON (d.id) d.id,
                     m.new_ancestors || m.id || d.ancestor_ids[array_position(d.ancestor_ids, m.id) + 1:] AS ancestors
                FROM _moved m JOIN taxon d ON d.ancestor_ids @> ARRAY[m.id]
               ORDER BY d.id, array_position(d.ancestor_ids, m.id) DESC) x
       WHERE d.id = x.id AND d.ancestor_ids IS DISTINCT FROM x.ancestors`);
    await client.query(
      `UPDATE taxon t SET ancestor_ids = m.new_ancestors, depth = cardinality(m.new_ancestors) FROM _moved m WHERE t.id = m.id`,
    );
    return moved.rowCount;
  }

  /**
   * Creates a taxon for each natural key among the level's unmatched named nodes, then records every
   * node of the level in _node with its taxon: the matched one, the one created for its natural key,
   * or (rarely) the existing one its natural key met on conflict; a placeholder carries its parent's.
   */
  private async insertUnmatched(client: PoolClient, level: number): Promise<number> {
    const { rows } = await client.query<{ count: number }>(
      `WITH inserted AS (
        INSERT INTO taxon (parent_id, rank, scientific_name, authorship, common_name, ancestor_ids, depth)
        SELECT DISTINCT ON (r.parent_id, r.rank, r.scientific_name)
               r.parent_id, r.rank, r.scientific_name, r.authorship, r.common_name,
               CASE WHEN p.id IS NULL THEN ARRAY[]::int[] ELSE p.ancestor_ids || p.id END,
               CASE WHEN p.id IS NULL THEN 0 ELSE cardinality(p.ancestor_ids) + 1 END
          FROM _ready r LEFT JOIN taxon p ON p.id = r.parent_id
         WHERE r.taxon_id IS NULL AND r.scientific_name IS NOT NULL
         ORDER BY r.parent_id, r.rank, r.scientific_name, (r.common_name IS NULL), r.line_no
        ON CONFLICT (parent_id, rank, scientific_name) DO NOTHING
        RETURNING id, parent_id, rank, scientific_name
      ), touched AS (
        INSERT INTO _touched SELECT DISTINCT parent_id FROM inserted WHERE parent_id IS NOT NULL
      ), recorded AS (
        INSERT INTO _node (source_key, level, taxon_id, is_placeholder)
        SELECT r.source_key, $1, COALESCE(r.taxon_id, i.id), r.scientific_name IS NULL
          FROM _ready r LEFT JOIN inserted i
            ON COALESCE(i.parent_id, 0) = COALESCE(r.parent_id, 0) AND i.rank = r.rank AND i.scientific_name = r.scientific_name
      )
      SELECT count(*) AS count FROM inserted`,
      [level],
    );
    // Nodes whose natural key met an existing taxon on conflict (the statement above joins only the
    // taxa it inserted).
    await client.query(
      `UPDATE _node n SET taxon_id = t.id
         FROM _ready r JOIN taxon t ON t.parent_id IS NOT DISTINCT FROM r.parent_id AND t.rank = r.rank AND t.scientific_name = r.scientific_name
        WHERE n.level = $1 AND n.taxon_id IS NULL AND NOT n.is_placeholder AND r.source_key = n.source_key`,
      [level],
    );
    return rows[0]!.count;
  }

  /**
   * For the nodes resolved by this call (and resolved nodes that were staged again with a new common
   * name): fills missing common names and authorship (never overwriting), and adds scientific,
   * synonym and vernacular names and external ids.
   */
  private async writeNamesAndIds(client: PoolClient, importKey: string, source: string): Promise<void> {
    // The staged columns of every node to name, read from staging once and kept in taxon order, so
    // that the statements below read this table alone and insert names in the order of their
    // taxon_id indexes. The two parts are disjoint: _node holds the nodes this call resolved, which
    // were unresolved in staging.
    await client.query(`CREATE TEMP TABLE IF NOT EXISTS _named (
      source_key text, taxon_id int, accepted_source_key text, scientific_name text, authorship text,
      common_name text, common_name_language text, external_id text, line_no int) ON COMMIT DROP`);
    await client.query(`TRUNCATE _named`);
    const stagedColumns = `s.accepted_source_key, s.scientific_name, s.authorship, s.common_name, s.common_name_language, s.external_id, s.line_no`;
    await client.query(
      `INSERT INTO _named
       SELECT * FROM (
         SELECT s.source_key, n.taxon_id, ${stagedColumns}
           FROM _node n JOIN import_taxon_staging s ON s.import_key = $1 AND s.source_key = n.source_key
          WHERE n.taxon_id IS NOT NULL AND NOT n.is_placeholder
         UNION ALL
         SELECT s.source_key, s.resolved_taxon_id, ${stagedColumns}
           FROM import_taxon_staging s
          WHERE s.import_key = $1 AND s.resolved_taxon_id IS NOT NULL AND NOT s.names_done AND s.scientific_name IS NOT NULL
       ) x ORDER BY taxon_id`,
      [importKey],
    );
    await client.query(`ANALYZE _named`);
    // In the statements below, s is a row of _named: a staged row with its taxon.
    await client.query(
      `UPDATE taxon t SET common_name = x.common_name, updated_at = now()
         FROM (SELECT DISTINCT ON (id) id, common_name, is_english FROM (
                 SELECT s.taxon_id AS id, s.common_name, 0 AS priority, s.line_no,
                        COALESCE(s.common_name_language, 'en') = 'en' AS is_english
                   FROM _named s
                  WHERE s.accepted_source_key IS NULL AND s.common_name IS NOT NULL AND ${COMMON_NAME_LANGUAGES}
                 UNION ALL
                 SELECT s.taxon_id, n.name, CASE WHEN n.is_preferred THEN 1 ELSE 2 END, n.line_no, true
                   FROM _named s
                   JOIN import_name_staging n ON n.import_key = $1 AND n.source_key = s.source_key
                  WHERE s.accepted_source_key IS NULL AND n.language IN ('en', '')
               ) c ORDER BY id, NOT is_english, priority, line_no) x
        WHERE t.id = x.id AND x.common_name IS DISTINCT FROM t.common_name
          AND (t.common_name IS NULL
               -- an English name replaces one of undetermined language set by an earlier batch or file
               OR (x.is_english AND EXISTS (SELECT 1 FROM taxon_name v WHERE v.taxon_id = t.id AND v.kind = 'vernacular'
                                              AND v.name = t.common_name AND v.language = 'und')))`,
      [importKey],
    );
    await client.query(
      `UPDATE taxon t SET authorship = x.authorship, updated_at = now()
         FROM (SELECT DISTINCT ON (s.taxon_id) s.taxon_id AS id, s.authorship
                 FROM _named s
                WHERE s.accepted_source_key IS NULL AND s.authorship IS NOT NULL
                ORDER BY s.taxon_id, s.line_no) x
        WHERE t.id = x.id AND t.authorship IS NULL`,
    );
    // A node that is not a synonym has its taxon's scientific name: it matched it or created it.
    await client.query(
      `INSERT INTO taxon_name (taxon_id, name, kind, language, is_preferred, source)
       SELECT s.taxon_id, s.scientific_name, 'scientific'::name_kind, NULL, true, $2
         FROM _named s
        WHERE s.accepted_source_key IS NULL
       UNION ALL
       SELECT t.id, s.scientific_name, 'synonym'::name_kind, NULL, false, $2
         FROM _named s JOIN taxon t ON t.id = s.taxon_id
        WHERE s.accepted_source_key IS NOT NULL AND s.scientific_name <> t.scientific_name
       UNION ALL
       SELECT t.id, s.common_name, 'vernacular'::name_kind, s.common_name_language, COALESCE(s.common_name = t.common_name, false), $2
         FROM _named s JOIN taxon t ON t.id = s.taxon_id
        WHERE s.accepted_source_key IS NULL AND s.common_name IS NOT NULL
       UNION ALL
       SELECT t.id, n.name, 'vernacular'::name_kind, NULLIF(n.language, ''), COALESCE(n.name = t.common_name, false), $2
         FROM _named s JOIN taxon t ON t.id = s.taxon_id
         JOIN import_name_staging n ON n.import_key = $1 AND n.source_key = s.source_key
       ON CONFLICT (taxon_id, kind, name, language) DO NOTHING`,
      [importKey, source],
    );
    // is_preferred marks the vernacular name that is the taxon's common name, which may have changed.
    await client.query(
      `UPDATE taxon_name v SET is_preferred = COALESCE(v.name = t.common_name, false)
         FROM _named s JOIN taxon t ON t.id = s.taxon_id
        WHERE v.taxon_id = t.id AND v.kind = 'vernacular' AND v.is_preferred <> COALESCE(v.name = t.common_name, false)`,
    );
    await client.query(
      `INSERT INTO taxon_external_id (source, external_id, taxon_id)
       SELECT $1, s.external_id, s.taxon_id FROM _named s WHERE s.external_id IS NOT NULL
       ON CONFLICT (source, external_id) DO NOTHING`,
      [source],
    );
  }

  /** child_count of every taxon that gained or lost a child in this transaction. */
  private async refreshChildCounts(client: PoolClient): Promise<void> {
    await client.query(`
      UPDATE taxon t SET child_count = c.count
        FROM (SELECT x.id, count(ch.id)::int AS count
                FROM (SELECT DISTINCT id FROM _touched) x LEFT JOIN taxon ch ON ch.parent_id = x.id
               GROUP BY x.id) c
       WHERE t.id = c.id AND t.child_count <> c.count`);
    await client.query(`TRUNCATE _touched`);
  }

  /** Resolved taxon ids of staged keys (the leaves of embedding lineages). */
  async getResolvedTaxonIds(client: PoolClient, importKey: string, sourceKeys: readonly string[]): Promise<Map<string, number>> {
    const { rows } = await client.query<{ key: string; id: number }>(
      `SELECT source_key AS key, resolved_taxon_id AS id FROM import_taxon_staging
        WHERE import_key = $1 AND source_key = ANY($2::text[]) AND resolved_taxon_id IS NOT NULL`,
      [importKey, sourceKeys],
    );
    return new Map(rows.map((row) => [row.key, row.id]));
  }

  // ---------------------------------------------------------------- images and embeddings

  /** Upserts images by (source, source_id); returns their ids keyed "source\u0000sourceId". */
  async upsertImages(client: PoolClient, images: readonly ImageInput[]): Promise<Map<string, string>> {
    if (images.length === 0) return new Map();
    const column = <K extends keyof ImageInput>(key: K) => images.map((image) => image[key]);
    await client.query(
      `INSERT INTO image (source, source_id, source_url, publisher, basis_of_record, license, rights_holder, taxon_id)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[])
       ON CONFLICT (source, source_id) DO UPDATE
         SET source_url = excluded.source_url, publisher = excluded.publisher, basis_of_record = excluded.basis_of_record,
             license = excluded.license, rights_holder = excluded.rights_holder, taxon_id = excluded.taxon_id
       WHERE (image.source_url, image.publisher, image.basis_of_record, image.license, image.rights_holder, image.taxon_id)
             IS DISTINCT FROM
             (excluded.source_url, excluded.publisher, excluded.basis_of_record, excluded.license, excluded.rights_holder, excluded.taxon_id)`,
      [column("source"), column("sourceId"), column("sourceUrl"), column("publisher"), column("basisOfRecord"), column("license"), column("rightsHolder"), column("taxonId")],
    );
    const { rows } = await client.query<{ id: string; source: string; sourceId: string }>(
      `SELECT i.id, i.source, i.source_id AS "sourceId"
         FROM image i JOIN unnest($1::text[], $2::text[]) AS k(source, source_id) ON i.source = k.source AND i.source_id = k.source_id`,
      [column("source"), column("sourceId")],
    );
    return new Map(rows.map((row) => [imageKey(row.source, row.sourceId), row.id]));
  }

  /** Upserts image embeddings of one model version; unchanged vectors are not rewritten. */
  async upsertImageEmbeddings(client: PoolClient, modelVersionId: number, rows: ReadonlyArray<{ imageId: string; embedding: Float32Array }>): Promise<void> {
    for (let start = 0; start < rows.length; start += EMBEDDING_ROWS_PER_STATEMENT) {
      const chunk = rows.slice(start, start + EMBEDDING_ROWS_PER_STATEMENT);
      const params: unknown[] = [modelVersionId];
      const values = chunk.map((row) => {
        params.push(row.imageId, encodeVectorBinary(row.embedding));
        return `($${params.length - 1}::uuid, $1::int, $${params.length}::vector)`;
      });
      await client.query(
        `INSERT INTO image_embedding (image_id, model_version_id, embedding) VALUES ${values.join(", ")}
         ON CONFLICT (image_id, model_version_id) DO UPDATE SET embedding = excluded.embedding
         WHERE image_embedding.embedding IS DISTINCT FROM excluded.embedding`,
        params,
      );
    }
  }

  /** Model versions that have image embeddings (whose prototypes a taxonomy change can move). */
  async getModelVersionIdsWithImageEmbeddings(): Promise<number[]> {
    const { rows } = await this.pool.query<{ id: number }>(
      `SELECT id FROM model_version mv WHERE EXISTS (SELECT 1 FROM image_embedding e WHERE e.model_version_id = mv.id) ORDER BY id`,
    );
    return rows.map((row) => row.id);
  }

  /**
   * Taxon prototypes of one model version, set-based: for every taxon with images anywhere in its
   * subtree (image → taxon.ancestor_ids || taxon), the L2-normalised mean of those images'
   * L2-normalised embeddings (pgvector accumulates the mean in float8), with the image count.
   * Unchanged prototypes are not rewritten; prototypes of taxa left without images are deleted.
   */
  async recomputePrototypes(client: PoolClient, modelVersionId: number): Promise<PrototypeStats> {
    const { rows } = await client.query<PrototypeStats>(
      `WITH member AS (
         SELECT e.image_id, l2_normalize(e.embedding) AS embedding, t.ancestor_ids || t.id AS lineage
           FROM image_embedding e
           JOIN image i ON i.id = e.image_id
           JOIN taxon t ON t.id = i.taxon_id
          WHERE e.model_version_id = $1
       ), prototype AS (
         SELECT x.taxon_id, l2_normalize(avg(m.embedding ORDER BY m.image_id)) AS embedding, count(*)::int AS image_count
           FROM member m CROSS JOIN LATERAL unnest(m.lineage) AS x(taxon_id)
          GROUP BY x.taxon_id
       ), written AS (
         INSERT INTO taxon_embedding (taxon_id, model_version_id, kind, embedding, image_count)
         SELECT taxon_id, $1, 'prototype', embedding, image_count FROM prototype
         ON CONFLICT (taxon_id, model_version_id, kind) DO UPDATE
           SET embedding = excluded.embedding, image_count = excluded.image_count, created_at = now()
         WHERE taxon_embedding.embedding IS DISTINCT FROM excluded.embedding
            OR taxon_embedding.image_count <> excluded.image_count
         RETURNING 1
       ), deleted AS (
         DELETE FROM taxon_embedding te
          WHERE te.model_version_id = $1 AND te.kind = 'prototype'
            AND NOT EXISTS (SELECT 1 FROM prototype p WHERE p.taxon_id = te.taxon_id)
         RETURNING 1
       )
       SELECT (SELECT count(*) FROM prototype)::int AS prototypes, (SELECT count(*) FROM written)::int AS written,
              (SELECT count(*) FROM deleted)::int AS deleted`,
      [modelVersionId],
    );
    return rows[0]!;
  }

  // ---------------------------------------------------------------- bulk loading

  /**
   * Loads rows into a table: COPY FROM STDIN on a real server; on the embedded PGlite, whose socket
   * server cannot carry the COPY sub-protocol (electric-sql/pglite PR #1028, open), one
   * INSERT … SELECT FROM unnest() of column arrays.
   */
  private async bulkLoad(client: PoolClient, table: string, columns: readonly Column[], rows: readonly unknown[][]): Promise<void> {
    if (rows.length === 0) return;
    if (!(await this.isEmbedded(client))) {
      const stream = client.query(copyStreams.from(`COPY ${table} (${columns.map((c) => c.name).join(", ")}) FROM STDIN`));
      await pipeline(Readable.from(copyChunks(rows)), stream);
      return;
    }
    const arrays = columns.map((_, at) => rows.map((row) => row[at] ?? null));
    await client.query(
      `INSERT INTO ${table} (${columns.map((c) => c.name).join(", ")})
       SELECT * FROM unnest(${columns.map((c, at) => `$${at + 1}::${c.type}[]`).join(", ")})`,
      arrays,
    );
  }

  // ---------------------------------------------------------------- session settings of a bulk import
  // Only on a real server (PGlite keeps its defaults: its memory is the host process's), and only
  // settings any role may change, each for the current transaction (SET LOCAL).

  /**
   * temp_buffers for the resolution's temp tables. It can only change before the session first
   * touches a temp table: a pooled session that already did with another value keeps that value
   * (the SET is rolled back to a savepoint), and the import runs as it would without it.
   */
  private async useLargeTempBuffers(client: PoolClient): Promise<void> {
    if (await this.isEmbedded(client)) return;
    try {
      await client.query(`SAVEPOINT temp_buffers; SET LOCAL temp_buffers = '${BULK_TEMP_BUFFERS}'; RELEASE SAVEPOINT temp_buffers`);
    } catch (error) {
      if ((error as { code?: string }).code !== INVALID_PARAMETER_VALUE) throw error;
      await client.query(`ROLLBACK TO SAVEPOINT temp_buffers`);
    }
  }

  /**
   * Raises gin_pending_list_limit when this role owns every GIN index the resolution writes, since
   * only an owner may merge the pending lists afterwards (mergeGinPendingLists): left unmerged, a
   * large pending list would be scanned by every search until the next VACUUM. Returns the indexes
   * to merge (none when the limit stays).
   */
  private async deferGinMerges(client: PoolClient): Promise<string[]> {
    if (await this.isEmbedded(client)) return [];
    this.ginIndexes ??= client
      .query<{ name: string; owned: boolean }>(
        `SELECT c.oid::regclass::text AS name, pg_has_role(c.relowner, 'USAGE') AS owned
           FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
          WHERE a.amname = 'gin' AND i.indrelid IN ('taxon'::regclass, 'taxon_name'::regclass)`,
      )
      .then(({ rows }) => ({ names: rows.map((row) => row.name), allOwned: rows.every((row) => row.owned) }));
    const indexes = await this.ginIndexes;
    if (!indexes.allOwned || indexes.names.length === 0) return [];
    await client.query(`SET LOCAL gin_pending_list_limit = '${BULK_GIN_PENDING_LIST_LIMIT}'`);
    return indexes.names;
  }

  /** Merges the pending lists that deferGinMerges let grow into their indexes, in bulk. */
  private async mergeGinPendingLists(client: PoolClient, indexes: readonly string[]): Promise<void> {
    if (indexes.length === 0) return;
    await client.query(`SELECT gin_clean_pending_list(gin_index) FROM unnest($1::regclass[]) AS x(gin_index)`, [indexes]);
  }

  // Asked on the transaction's own client: on PGlite another connection would wait for this
  // transaction to end.
  private isEmbedded(client: PoolClient): Promise<boolean> {
    this.embedded ??= client.query<{ version: string }>(`SELECT version() AS version`).then(({ rows }) => /pglite/i.test(rows[0]!.version));
    return this.embedded;
  }
}

/** GIN indexes of taxon and taxon_name, and whether the importer's role owns all of them. */
interface GinIndexes {
  names: string[];
  allOwned: boolean;
}

function nodeRow(node: StagedTaxonNode): unknown[] {
  return [node.sourceKey, node.parentSourceKey, node.acceptedSourceKey, node.rank, node.scientificName, node.authorship, node.commonName, node.commonNameLanguage, node.externalId, node.lineNo];
}

function isStagingKeyViolation(error: unknown): boolean {
  const { code, constraint } = error as { code?: string; constraint?: string };
  return code === UNIQUE_VIOLATION && constraint === "import_taxon_staging_pkey";
}

export function imageKey(source: string, sourceId: string): string {
  return `${source}\u0000${sourceId}`;
}


/** COPY text of the rows, in chunks of about COPY_CHUNK_CHARS characters. */
function* copyChunks(rows: readonly unknown[][]): Generator<string> {
  let chunk = "";
  for (const row of rows) {
    chunk += `${row.map(copyField).join("\t")}\n`;
    if (chunk.length >= COPY_CHUNK_CHARS) {
      yield chunk;
      chunk = "";
    }
  }
  if (chunk.length > 0) yield chunk;
}

function copyField(value: unknown): string {
  if (value === null || value === undefined) return "\\N";
  if (typeof value === "boolean") return value ? "t" : "f";
  return String(value).replace(/\\/g, "\\\\").replace(/\t/g, "\\t").replace(/\n/g, "\\n").replace(/\r/g, "\\r");
}
