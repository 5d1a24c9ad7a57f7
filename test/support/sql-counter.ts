import pg from "pg";

/**
 * Counts every statement sent by any `pg` client in this process (pool queries go through
 * Client#query too), to prove that a request issues a bounded number of SQL statements.
 */
export function countStatements(): { count: () => number; reset: () => void; restore: () => void } {
  let statements = 0;
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]) {
    statements++;
    return original.apply(this, args);
  };
  return {
    count: () => statements,
    reset: () => {
      statements = 0;
    },
    restore: () => {
      proto.query = original;
    },
  };
}
