import pg from "pg";

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

// int8 (counts, bigint ids) arrive as strings by default; every count Arbor reads fits in a double.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

// int4[] (lineages: every taxon row carries one). pg-types' generic array parser took ≈ 1 µs a
// row, a third of the API's value parsing on a taxon page; this loop over a flat list of integers
// is ≈ 6× faster. Anything else (NULL elements, nested arrays) goes to the generic parser.
// pg-types' TypeId lists the scalar built-ins only; 1007 is int4[]'s fixed OID.
const INT4_ARRAY_OID = 1007 as Parameters<typeof pg.types.getTypeParser>[0];
const parseAnyInt4Array: (value: string) => unknown = pg.types.getTypeParser(INT4_ARRAY_OID, "text");

export function parseInt4Array(value: string): unknown {
  const end = value.length - 1;
  if (value.charCodeAt(0) !== 0x7b || value.charCodeAt(end) !== 0x7d) return parseAnyInt4Array(value); // { … }
  const values: number[] = [];
  let n = 0;
  let negative = false;
  let digits = 0;
  for (let i = 1; i < end; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      n = n * 10 + (c - 0x30);
      digits++;
    } else if (c === 0x2c && digits > 0) {
      values.push(negative ? -n : n);
      n = 0;
      negative = false;
      digits = 0;
    } else if (c === 0x2d && digits === 0 && !negative) {
      negative = true;
    } else {
      return parseAnyInt4Array(value);
    }
  }
  if (digits > 0) values.push(negative ? -n : n);
  else if (end > 1) return parseAnyInt4Array(value);
  return values;
}
pg.types.setTypeParser(INT4_ARRAY_OID, parseInt4Array);

export function createPool(databaseUrl: string, max: number): pg.Pool {
  return new pg.Pool({ connectionString: databaseUrl, max, idleTimeoutMillis: 30_000 });
}

/**
 * Hot read statements (the taxon page's) are sent as named statements, which each connection of a
 * real server parses once and, after a few runs, plans once, where unnamed statements are parsed and
 * planned on every call: PostgreSQL CPU per taxon page fell from 1.18 to 0.95 ms in the taxon-page
 * benchmark. PGlite serves every connection from one session, where a name prepared by one connection
 * collides with the next one's ("prepared statement … already exists"): there they stay unnamed.
 */
export async function supportsNamedStatements(pool: pg.Pool): Promise<boolean> {
  const { rows } = await pool.query<{ version: string }>("SELECT version() AS version");
  return !rows[0]!.version.includes("PGlite");
}

/** A query of `text`, named `name` when `named` (see supportsNamedStatements); the text must not vary between calls. */
export function hotStatement(named: boolean, name: string, text: string, values: unknown[]): pg.QueryConfig {
  return named ? { name, text, values } : { text, values };
}

/** Runs `work` in one transaction on one connection; rolls back on any error. */
export async function withTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
