import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createPool } from "../../src/db.ts";
import { importTaxa } from "../../src/importers/index.ts";
import type { Pool } from "../../src/index.ts";
import { fixture, openTestDatabase, resetStore, silentLog, treeInvariantViolations, treePaths, type TestDatabase } from "./helpers.ts";

// The session settings of a bulk import (temp_buffers, gin_pending_list_limit and the merge of the
// GIN pending lists) apply on a real server only; PGlite keeps its defaults.
describe.skipIf(!process.env.TEST_DATABASE_URL)("taxonomy import session settings (real server)", () => {
  let db: TestDatabase;
  let pool: Pool;
  let expectedPaths: string[];

  beforeAll(async () => {
    db = await openTestDatabase();
    pool = db.store.pool;
    await pool.query(`CREATE EXTENSION IF NOT EXISTS pgstattuple`);
    await importTaxa("taxa-parent-child", fixture("parent-child.csv"), { pool, log: silentLog, allowUnnamed: true });
    expectedPaths = await treePaths(pool);
  });
  afterAll(async () => {
    await db?.close();
  });
  beforeEach(async () => {
    await resetStore(pool);
  });

  async function pendingGinTuples(): Promise<number> {
    const { rows } = await pool.query<{ n: number }>(
      `SELECT sum((pgstatginindex(i.indexrelid)).pending_tuples)::int AS n
         FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
        WHERE a.amname = 'gin' AND i.indrelid IN ('taxon'::regclass, 'taxon_name'::regclass)`,
    );
    return rows[0]!.n;
  }

  it("merges the GIN pending lists into their indexes when the role owns them", async () => {
    await importTaxa("taxa-parent-child", fixture("parent-child.csv"), { pool, log: silentLog, allowUnnamed: true });
    expect(await treePaths(pool)).toEqual(expectedPaths);
    expect(await pendingGinTuples()).toBe(0);
  });

  it("imports on a pooled session that already used temp tables (temp_buffers can no longer change)", async () => {
    const single = createPool(db.url, 1);
    try {
      await single.query(`CREATE TEMP TABLE used_before (x int); INSERT INTO used_before VALUES (1)`);
      await importTaxa("taxa-parent-child", fixture("parent-child.csv"), { pool: single, log: silentLog, allowUnnamed: true, batchSize: 4 });
    } finally {
      await single.end();
    }
    expect(await treePaths(pool)).toEqual(expectedPaths);
    expect(await treeInvariantViolations(pool)).toBe(0);
  });

  it("imports as a role that owns no table, leaving the GIN pending lists to the server's defaults", async () => {
    const role = `arbor_test_importer_${randomBytes(4).toString("hex")}`;
    await pool.query(`CREATE ROLE ${role} NOLOGIN`);
    const url = new URL(db.url);
    url.searchParams.set("options", `-c role=${role}`);
    const rolePool = createPool(url.toString(), 2);
    try {
      await pool.query(`GRANT USAGE ON SCHEMA public TO ${role}`);
      await pool.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${role}`);
      await pool.query(`GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ${role}`);
      const { rows } = await rolePool.query<{ role: string; superuser: string }>(`SELECT current_user AS role, current_setting('is_superuser') AS superuser`);
      expect(rows[0]).toEqual({ role, superuser: "off" });
      await importTaxa("taxa-parent-child", fixture("parent-child.csv"), { pool: rolePool, log: silentLog, allowUnnamed: true, batchSize: 4 });
    } finally {
      await rolePool.end();
      await pool.query(`DROP OWNED BY ${role}`);
      await pool.query(`DROP ROLE ${role}`);
    }
    expect(await treePaths(pool)).toEqual(expectedPaths);
    // Below the default 4 MB limit, a role that may not merge them leaves the entries pending.
    expect(await pendingGinTuples()).toBeGreaterThan(0);
  });
});
