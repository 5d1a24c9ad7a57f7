import pg from "pg";

type ClientQuery = (...args: unknown[]) => unknown;

/**
 * Routes every statement sent by any `pg` client in this process (pool queries go through
 * Client#query too) through `wrap`, which calls `original` on `client` to send it. Returns the
 * function that puts Client#query back.
 */
export function wrapClientQuery(wrap: (original: ClientQuery, client: unknown, args: unknown[]) => unknown): () => void {
  const proto = pg.Client.prototype as unknown as { query: ClientQuery };
  const original = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]) {
    return wrap(original, this, args);
  };
  return () => {
    proto.query = original;
  };
}

/** Counts every statement sent by any `pg` client, to prove that a request issues a bounded number of SQL statements. */
export function countStatements(): { count: () => number; reset: () => void; restore: () => void } {
  let statements = 0;
  const restore = wrapClientQuery((original, client, args) => {
    statements++;
    return original.apply(client, args);
  });
  return {
    count: () => statements,
    reset: () => {
      statements = 0;
    },
    restore,
  };
}
