import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { migrate } from "@arbor/store/migrate.ts";
import type { Progress } from "../lib/progress.ts";
import { fingerprint, hasTraits, ImagePlan, synonymOf, traitsOf, type DatasetSpec } from "./dataset.ts";
import { ancestorsOf, generateTree, RANKS, type SyntheticTree } from "./tree.ts";

// The benchmark's own bookkeeping inside its database (not part of the project's schema).
const STATE_DDL = `CREATE TABLE IF NOT EXISTS bench_taxon_page_state (
  key text PRIMARY KEY, value jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`;

const LOADED_TABLES = ["taxon", "taxon_name", "image", "trait"];

export interface LoadedDataset {
  fingerprint: string;
  taxa: number;
  names: number;
  images: number;
  traits: number;
  loadSeconds: number;
  loadedAt: string;
}

/** The dataset in the database when it was loaded from `spec` and still has all its rows. */
export async function findLoadedDataset(pool: pg.Pool, spec: DatasetSpec): Promise<LoadedDataset | undefined> {
  const exists = await pool.query("SELECT 1 FROM pg_tables WHERE tablename = 'bench_taxon_page_state'");
  if (exists.rowCount === 0) return undefined;
  const { rows } = await pool.query<{ value: LoadedDataset }>("SELECT value FROM bench_taxon_page_state WHERE key = 'dataset'");
  const loaded = rows[0]?.value;
  if (!loaded || loaded.fingerprint !== fingerprint(spec)) return undefined;
  const counts = await pool.query<{ taxa: number; images: number }>(
    "SELECT (SELECT count(*) FROM taxon)::int AS taxa, (SELECT count(*) FROM image)::int AS images",
  );
  return counts.rows[0]!.taxa === loaded.taxa && counts.rows[0]!.images === loaded.images ? loaded : undefined;
}

/** COPY text format: NULL as \N, and backslash, tab, newline, carriage return escaped. */
export function copyField(value: string | number | null): string {
  if (value === null) return "\\N";
  if (typeof value === "number") return String(value);
  return value.replace(/[\\\t\n\r]/g, (c) => ({ "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r" })[c]!);
}

const line = (values: Array<string | number | null>) => `${values.map(copyField).join("\t")}\n`;

/** Batches lines into ~1 MB strings so COPY is fed in few large writes. */
function* batched(lines: Iterable<string>): Generator<string> {
  let chunk = "";
  for (const text of lines) {
    chunk += text;
    if (chunk.length >= 1 << 20) {
      yield chunk;
      chunk = "";
    }
  }
  if (chunk) yield chunk;
}

async function copy(client: pg.PoolClient, sql: string, lines: Iterable<string>): Promise<void> {
  await pipeline(Readable.from(batched(lines)), client.query(copyFrom(sql)));
}

function* taxonLines(tree: SyntheticTree, counter: { add(n: number): void }): Generator<string> {
  for (let id = 1; id <= tree.size; id++) {
    const ancestors = ancestorsOf(tree, id);
    const parent = tree.parent[id]!;
    yield line([id, parent === 0 ? null : parent, RANKS[tree.rank[id]!]!, tree.scientificName[id]!, tree.commonName[id]!, `{${ancestors.join(",")}}`, ancestors.length, tree.childCount[id]!]);
    if (id % 10_000 === 0) counter.add(10_000);
  }
}

function* nameLines(tree: SyntheticTree, seed: number, count: { names: number }): Generator<string> {
  for (let id = 1; id <= tree.size; id++) {
    yield line([id, tree.scientificName[id]!, "scientific", null, "t"]);
    count.names++;
    const common = tree.commonName[id];
    if (common) {
      yield line([id, common, "vernacular", "en", "t"]);
      count.names++;
    }
    const synonym = synonymOf(tree, seed, id);
    if (synonym) {
      yield line([id, synonym, "synonym", null, "f"]);
      count.names++;
    }
  }
}

function* imageLines(plan: ImagePlan, images: number): Generator<string> {
  for (let i = 0; i < images; i++) {
    const r = plan.row(i);
    yield line([r.id, r.sha256, r.taxonId, "bench-synthetic", r.sourceId, r.sourceUrl, r.license, r.rightsHolder, "Arbor benchmark", "HumanObservation", r.width, r.height, r.createdAt.toISOString()]);
  }
}

function* traitLines(tree: SyntheticTree, spec: DatasetSpec, count: { traits: number }): Generator<string> {
  for (let id = 1; id <= tree.size; id++) {
    if (!hasTraits(tree, spec, id)) continue;
    for (const t of traitsOf(spec.seed, id)) {
      yield line([t.taxonId, t.name, t.numericValue, t.textValue, t.unit, t.source, t.reference]);
      count.traits++;
    }
  }
}

/**
 * Migrates an empty database and loads the synthetic dataset with COPY: secondary indexes are
 * dropped first and rebuilt after (much faster than maintaining them row by row), foreign-key
 * triggers are off during COPY (the checks below verify the lineage instead), then VACUUM ANALYZE.
 */
export async function loadDataset(pool: pg.Pool, spec: DatasetSpec, progress: Progress): Promise<LoadedDataset> {
  const started = performance.now();
  await progress.step("migrate", () => migrate(pool));
  await pool.query(STATE_DDL);
  await pool.query("DELETE FROM bench_taxon_page_state WHERE key = 'dataset'");
  const tree = await progress.step(`generate a ${spec.taxa.toLocaleString("en-US")}-taxon tree`, async () => generateTree(spec.taxa, spec.seed));

  const client = await pool.connect();
  const counts = { names: 0, traits: 0 };
  try {
    await client.query(`TRUNCATE ${LOADED_TABLES.join(", ")} CASCADE`);
    const { rows: indexes } = await client.query<{ name: string; definition: string }>(
      `SELECT indexname AS name, indexdef AS definition FROM pg_indexes
       WHERE schemaname = 'public' AND tablename = ANY($1)
         AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE contype IN ('p', 'u', 'x'))`,
      [LOADED_TABLES],
    );
    for (const index of indexes) await client.query(`DROP INDEX "${index.name}"`);
    await client.query("SET session_replication_role = replica");

    const taxa = progress.counter("copy taxon", spec.taxa, "rows");
    await copy(client, "COPY taxon (id, parent_id, rank, scientific_name, common_name, ancestor_ids, depth, child_count) FROM STDIN", taxonLines(tree, taxa));
    taxa.finish();
    await progress.step("copy taxon_name", () =>
      copy(client, "COPY taxon_name (taxon_id, name, kind, language, is_preferred) FROM STDIN", nameLines(tree, spec.seed, counts)),
    );
    await progress.step(`copy ${spec.images.toLocaleString("en-US")} images`, () =>
      copy(
        client,
        "COPY image (id, sha256, taxon_id, source, source_id, source_url, license, rights_holder, publisher, basis_of_record, width, height, created_at) FROM STDIN",
        imageLines(new ImagePlan(tree, spec.seed), spec.images),
      ),
    );
    await progress.step("copy trait", () =>
      copy(client, "COPY trait (taxon_id, name, numeric_value, text_value, unit, source, reference) FROM STDIN", traitLines(tree, spec, counts)),
    );
    await client.query("SET session_replication_role = origin");

    await client.query("SET maintenance_work_mem = '1GB'");
    for (const index of indexes) await progress.step(`rebuild index ${index.name}`, () => client.query(index.definition));
    for (const table of ["taxon", "taxon_name", "trait"]) {
      await client.query(`SELECT setval(pg_get_serial_sequence('${table}', 'id'), (SELECT max(id) FROM ${table}))`);
    }
  } finally {
    client.release();
  }
  await progress.step("check lineage invariants", () => checkLineage(pool, spec.taxa));
  await progress.step("vacuum analyze", () => vacuumAnalyze(pool));

  const loaded: LoadedDataset = {
    fingerprint: fingerprint(spec),
    taxa: spec.taxa,
    names: counts.names,
    images: spec.images,
    traits: counts.traits,
    loadSeconds: Math.round((performance.now() - started) / 100) / 10,
    loadedAt: new Date().toISOString(),
  };
  await pool.query(
    `INSERT INTO bench_taxon_page_state (key, value) VALUES ('dataset', $1)
     ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()`,
    [JSON.stringify(loaded)],
  );
  return loaded;
}

export async function vacuumAnalyze(pool: pg.Pool): Promise<void> {
  for (const table of LOADED_TABLES) await pool.query(`VACUUM (ANALYZE) ${table}`);
}

/** Every parent exists, lineage = parent's lineage + parent, depth = lineage length, child counts exact, image paths kept by the trigger. */
async function checkLineage(pool: pg.Pool, taxa: number): Promise<void> {
  const { rows } = await pool.query<{ total: number; orphans: number; lineage: number; children: number; imagePaths: number }>(`
    SELECT (SELECT count(*) FROM taxon)::int AS total,
      (SELECT count(*) FROM taxon c WHERE c.parent_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM taxon p WHERE p.id = c.parent_id))::int AS orphans,
      (SELECT count(*) FROM taxon c LEFT JOIN taxon p ON p.id = c.parent_id
        WHERE c.ancestor_ids IS DISTINCT FROM (CASE WHEN p.id IS NULL THEN ARRAY[]::int[] ELSE p.ancestor_ids || p.id END)
           OR c.depth <> cardinality(c.ancestor_ids))::int AS lineage,
      (SELECT count(*) FROM taxon t LEFT JOIN (SELECT parent_id, count(*) AS n FROM taxon GROUP BY parent_id) k ON k.parent_id = t.id
        WHERE t.child_count <> coalesce(k.n, 0))::int AS children,
      (SELECT count(*) FROM image i JOIN taxon t ON t.id = i.taxon_id WHERE i.taxon_path IS DISTINCT FROM t.ancestor_ids || t.id)::int AS "imagePaths"`);
  const r = rows[0]!;
  if (r.total !== taxa || r.orphans || r.lineage || r.children || r.imagePaths) {
    throw new Error(`synthetic tree is inconsistent: ${JSON.stringify(r)} (expected ${taxa} taxa and zeros)`);
  }
}
