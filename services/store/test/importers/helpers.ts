import { fileURLToPath } from "node:url";
import { createLogger, type Pool } from "../../src/index.ts";

export { openTestDatabase, type TestDatabase } from "../../../../test/support/test-database.ts";

export const silentLog = createLogger("import-test", "silent");

export function fixture(name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
}

export const SEED_FILE = (name: string) => fileURLToPath(new URL(`../../../../data/seed/${name}`, import.meta.url));

const DATA_TABLES = ["taxon", "taxon_name", "taxon_external_id", "image", "image_embedding", "taxon_embedding", "trait"] as const;

export interface TableState {
  count: number;
  checksum: string;
}

/** Row count and an md5 over every column of every row, per data table: equal states mean nothing changed. */
export async function snapshot(pool: Pool): Promise<Record<string, TableState>> {
  const state: Record<string, TableState> = {};
  for (const table of DATA_TABLES) {
    const { rows } = await pool.query<TableState>(
      `SELECT count(*)::int AS count, md5(COALESCE(string_agg(t::text, '|' ORDER BY t::text), '')) AS checksum FROM ${table} t`,
    );
    state[table] = rows[0]!;
  }
  return state;
}

export async function counts(pool: Pool): Promise<Record<string, number>> {
  return Object.fromEntries(Object.entries(await snapshot(pool)).map(([table, state]) => [table, state.count]));
}

/** Every taxon as its path of "rank:name" from the root, sorted: compares tree shapes. */
export async function treePaths(pool: Pool): Promise<string[]> {
  const { rows } = await pool.query<{ path: string }>(
    `SELECT (SELECT string_agg(a.rank || ':' || a.scientific_name, ' > ' ORDER BY x.ord)
               FROM unnest(t.ancestor_ids || t.id) WITH ORDINALITY AS x(id, ord) JOIN taxon a ON a.id = x.id) AS path
       FROM taxon t ORDER BY path`,
  );
  return rows.map((row) => row.path);
}

/** Checks the tree's invariants: ancestor_ids, depth and child_count agree with parent_id. */
export async function treeInvariantViolations(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ bad: number }>(
    `SELECT count(*)::int AS bad FROM taxon t LEFT JOIN taxon p ON p.id = t.parent_id
      WHERE t.ancestor_ids IS DISTINCT FROM (CASE WHEN p.id IS NULL THEN ARRAY[]::int[] ELSE p.ancestor_ids || p.id END)
         OR t.depth <> cardinality(t.ancestor_ids)
         OR t.child_count <> (SELECT count(*) FROM taxon c WHERE c.parent_id = t.id)`,
  );
  return rows[0]!.bad;
}

/** Empties every table an import writes, so each test starts from an empty store. */
export async function resetStore(pool: Pool): Promise<void> {
  await pool.query(
    `TRUNCATE taxon, taxon_name, taxon_external_id, image, image_embedding, taxon_embedding, trait, model_version,
              import_checkpoint, import_taxon_staging, import_name_staging RESTART IDENTITY CASCADE`,
  );
}
