import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIGRATIONS_DIR, migrate, MigrationError, readMigrations } from "../src/migrate.ts";
import { openTestDatabase, type TestDatabase } from "../../../test/support/test-database.ts";

describe("migration runner", () => {
  let db: TestDatabase;
  const scratchDirs: string[] = [];
  /** A copy of the project's migrations to tamper with; removed after the suite. */
  const copyOfMigrations = () => {
    const dir = mkdtempSync(join(tmpdir(), "arbor-migrations-"));
    scratchDirs.push(dir);
    cpSync(MIGRATIONS_DIR, dir, { recursive: true });
    return dir;
  };

  beforeAll(async () => {
    db = await openTestDatabase(); // already migrated once by createStore
  });

  afterAll(async () => {
    await db?.close();
    for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true });
  });

  it("records every migration in _prisma_migrations with Prisma's checksum, and is idempotent", async () => {
    const { rows } = await db.store.pool.query<{ migration_name: string; checksum: string; finished_at: Date | null }>(
      `SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" ORDER BY migration_name`,
    );
    const files = readMigrations();
    expect(rows.map((row) => [row.migration_name, row.checksum])).toEqual(files.map((file) => [file.name, file.checksum]));
    expect(rows.every((row) => row.finished_at !== null)).toBe(true);
    expect(await migrate(db.store.pool)).toEqual([]);
    const { rows: again } = await db.store.pool.query(`SELECT count(*)::int AS n FROM "_prisma_migrations"`);
    expect(again[0].n).toBe(files.length);
  });

  it("creates the extensions and the indexes Prisma cannot declare", async () => {
    const { rows: extensions } = await db.store.pool.query<{ extname: string }>(`SELECT extname FROM pg_extension ORDER BY extname`);
    expect(extensions.map((e) => e.extname)).toEqual(expect.arrayContaining(["fuzzystrmatch", "pg_trgm", "vector"]));
    const { rows: indexes } = await db.store.pool.query<{ indexname: string; indexdef: string }>(
      `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()`,
    );
    const byName = new Map(indexes.map((index) => [index.indexname, index.indexdef]));
    expect(byName.get("image_embedding_hnsw_idx")).toMatch(/USING hnsw \(embedding vector_cosine_ops\)/);
    expect(byName.get("taxon_embedding_hnsw_idx")).toBeUndefined();
    expect(byName.get("taxon_embedding_prototype_hnsw_idx")).toMatch(/USING hnsw \(embedding vector_cosine_ops\) WHERE \(kind = 'prototype'/);
    expect(byName.get("taxon_ancestor_ids_gin_idx")).toMatch(/USING gin \(ancestor_ids\)/);
    expect(byName.get("import_taxon_staging_unresolved_idx")).toMatch(/\(import_key\) WHERE \(resolved_taxon_id IS NULL\)/);
    expect(byName.get("import_taxon_staging_names_pending_idx")).toMatch(/\(import_key\) WHERE \(NOT names_done\)/);
    expect(byName.get("taxon_name_trgm_idx")).toMatch(/gin_trgm_ops/);
    expect(byName.get("taxon_parent_rank_name_key")).toMatch(/NULLS NOT DISTINCT/);
  });

  it("refuses a migration that was edited after it was applied, and applies nothing", async () => {
    const dir = copyOfMigrations();
    const [first] = readMigrations(dir);
    writeFileSync(join(dir, first!.name, "migration.sql"), `${first!.sql}\n-- edited\n`);
    writeFileSync(join(dir, "migration_lock.toml"), 'provider = "postgresql"\n');
    await expect(migrate(db.store.pool, dir)).rejects.toThrow(MigrationError);
    await expect(migrate(db.store.pool, dir)).rejects.toThrow(/changed after it was applied/);
  });

  it("rolls back a failing migration whole", async () => {
    const dir = copyOfMigrations();
    const broken = join(dir, "29991231000000_broken");
    cpSync(join(dir, readMigrations(dir)[0]!.name), broken, { recursive: true });
    writeFileSync(join(broken, "migration.sql"), `CREATE TABLE half_written (id int);\nSELECT no_such_function();\n`);
    await expect(migrate(db.store.pool, dir)).rejects.toThrow(/29991231000000_broken failed/);
    const { rows } = await db.store.pool.query(`SELECT to_regclass('half_written') AS t`);
    expect(rows[0].t).toBeNull();
    const { rows: recorded } = await db.store.pool.query(`SELECT count(*)::int AS n FROM "_prisma_migrations" WHERE migration_name = '29991231000000_broken'`);
    expect(recorded[0].n).toBe(0);
  });
});
