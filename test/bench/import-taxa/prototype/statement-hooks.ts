import type pg from "pg";

/** Statements to run right after each statement that matches, on the same client (same transaction). */
export interface StatementHook {
  match: RegExp;
  then: string[];
}

/**
 * Installs hooks on every client the pool hands out: the prototype equivalent of adding a line
 * after a statement inside the repository. Register after the profiler, so that the hooked
 * statements are timed on their own.
 */
export function installStatementHooks(pool: pg.Pool, hooks: readonly StatementHook[]): void {
  if (hooks.length === 0) return;
  pool.on("connect", (client) => {
    const original = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (config: unknown, values?: unknown, callback?: unknown) => {
      const text = typeof config === "string" ? config : ((config as { text?: unknown } | null)?.text ?? undefined);
      const hook = typeof text === "string" && typeof values !== "function" && callback === undefined ? hooks.find((h) => h.match.test(text.replace(/\s+/g, " ").trim())) : undefined;
      if (!hook) return original(config, values, callback);
      return (original(config, values) as Promise<pg.QueryResult>).then(async (result) => {
        for (const sql of hook.then) await original(sql);
        return result;
      });
    };
  });
}
