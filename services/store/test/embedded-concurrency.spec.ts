import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPool, startEmbeddedDatabase, type EmbeddedDatabase, type Pool } from "../src/index.ts";

// Several pooled connections (and so several processes) share PGlite's one backend through the
// socket server; their parameterised queries must not interleave mid-statement.
describe("embedded database under concurrent clients", () => {
  let db: EmbeddedDatabase;
  let pools: Pool[];

  beforeAll(async () => {
    db = await startEmbeddedDatabase({ port: 0 });
    pools = [createPool(db.url, 4), createPool(db.url, 4)];
  });

  afterAll(async () => {
    await Promise.all(pools.map((pool) => pool.end()));
    await db.stop();
  });

  it("keeps statements and transactions whole when connections interleave", async () => {
    await pools[0]!.query("CREATE TABLE counter (id int primary key, n int)");
    await pools[0]!.query("INSERT INTO counter VALUES (1, 0)");
    // Transactions open with a simple-protocol BEGIN while other clients are mid-way through
    // Parse/Bind/Execute of parameterised statements: the case that broke before the fix.
    const transactions = Array.from({ length: 40 }, async (_, i) => {
      const client = await pools[i % 2]!.connect();
      try {
        await client.query("BEGIN");
        const { rows } = await client.query<{ n: number }>("SELECT n FROM counter WHERE id = $1", [1]);
        await client.query("UPDATE counter SET n = $1 WHERE id = $2", [rows[0]!.n + 1, 1]);
        await client.query("COMMIT");
        return true;
      } finally {
        client.release();
      }
    });
    const queries = Array.from({ length: 300 }, (_, i) => {
      const pool = pools[i % 2]!;
      return i % 3 === 0
        ? pool.query<{ a: number; b: string; c: number }>("SELECT $1::int AS a, $2::text AS b, $3::int + 1 AS c, $4::bool AS d", [i, `s${i}`, i * 2, i % 2 === 0]).then((r) => r.rows[0]!.a === i && r.rows[0]!.b === `s${i}` && r.rows[0]!.c === i * 2 + 1)
        : pool.query<{ x: number }>("SELECT $1::int * 3 AS x", [i]).then((r) => r.rows[0]!.x === i * 3);
    });
    const results = await Promise.all([...transactions, ...queries].map((p) => p.catch((error: Error) => error.message)));
    expect(results.filter((ok) => ok !== true)).toEqual([]);
    const { rows } = await pools[1]!.query<{ n: number }>("SELECT n FROM counter WHERE id = 1");
    expect(rows[0]!.n).toBe(40);
  });
});
