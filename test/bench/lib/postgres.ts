import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import pg from "pg";

const START_SCRIPT = fileURLToPath(new URL("../../../scripts/postgres/start.sh", import.meta.url));

/**
 * URL of the real PostgreSQL server: BENCH_DATABASE_URL or DATABASE_URL when set, otherwise the
 * project's server, started by scripts/postgres/start.sh if it is not running (it stays running).
 */
export function serverUrl(log: (line: string) => void): string {
  const fromEnv = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL;
  if (fromEnv) return fromEnv;
  log(`starting or finding the project's PostgreSQL server (${START_SCRIPT})`);
  const stdout = execFileSync("bash", [START_SCRIPT], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const line = stdout.split("\n").find((text) => text.startsWith("DATABASE_URL="));
  if (!line) throw new Error(`${START_SCRIPT} printed no DATABASE_URL line`);
  return line.slice("DATABASE_URL=".length);
}

/** The same server, another database. */
export function databaseUrl(server: string, database: string): string {
  const url = new URL(server);
  url.pathname = `/${database}`;
  return url.toString();
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

export async function databaseExists(server: string, database: string): Promise<boolean> {
  return withAdmin(server, async (client) => {
    const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]);
    return (rowCount ?? 0) > 0;
  });
}

/** Drops (when present) and creates a benchmark database. Only names starting with arbor_bench_ are allowed. */
export async function recreateDatabase(server: string, database: string): Promise<void> {
  assertBenchDatabase(database);
  await withAdmin(server, async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${database}`);
  });
}

export async function createDatabaseIfMissing(server: string, database: string): Promise<boolean> {
  assertBenchDatabase(database);
  if (await databaseExists(server, database)) return false;
  await withAdmin(server, (client) => client.query(`CREATE DATABASE ${database}`));
  return true;
}

function assertBenchDatabase(database: string): void {
  // Benchmarks recreate their databases: keep them from ever touching the project's own.
  if (!IDENTIFIER.test(database) || !database.startsWith("arbor_bench_")) {
    throw new Error(`benchmark databases must be named arbor_bench_<something> in lower case; got '${database}'`);
  }
}

async function withAdmin<T>(server: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl(server, "postgres") });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
