import type { StatementHook } from "./statement-hooks.ts";

export interface Prototype {
  description: string;
  /** Patches ImportRepository.prototype. */
  apply?(prototype: Record<string, unknown>): void;
  /** Settings given to every importer connection at start-up (`-c name=value`). */
  connectionSettings?: string[];
  /** Statements added after a repository statement (see statement-hooks.ts). */
  statementHooks?: StatementHook[];
}

/**
 * Prototype fixes of the importer, applied inside the importer process only (services/store is
 * not edited). `--prototype a,b` in the benchmark runs one more fresh import with them and checks
 * that it writes the same tree. None is pending: the five measured in bench-results/history/
 * import-taxa.1m-2026-11-28-1032.json (chunked-copy, direct-staging, temp-buffers, analyze-node,
 * gin-pending) are now the importer's own behaviour. Add the next one here, e.g.
 *   "name": { description: "…", apply(prototype) { … }, connectionSettings: ["setting=value"] },
 */
export const PROTOTYPES: Record<string, Prototype> = {};

export function prototypesNamed(names: readonly string[]): Prototype[] {
  return names.map((name) => {
    const entry = PROTOTYPES[name];
    if (!entry) throw new Error(`unknown prototype '${name}'; known: ${Object.keys(PROTOTYPES).join(", ")}`);
    return entry;
  });
}

export function applyPrototypes(names: readonly string[], prototype: object): void {
  for (const entry of prototypesNamed(names)) entry.apply?.(prototype as Record<string, unknown>);
}

export function prototypeConnectionSettings(names: readonly string[]): string[] {
  return prototypesNamed(names).flatMap((entry) => entry.connectionSettings ?? []);
}

export function prototypeStatementHooks(names: readonly string[]): StatementHook[] {
  return prototypesNamed(names).flatMap((entry) => entry.statementHooks ?? []);
}
