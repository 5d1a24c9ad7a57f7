import { applyChunkedCopy } from "./chunked-copy.ts";
import { applyDirectStaging } from "./direct-staging.ts";
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
 * that it writes the same tree.
 */
export const PROTOTYPES: Record<string, Prototype> = {
  "chunked-copy": { description: "bulkLoad sends COPY text in ~256 KB chunks, not one chunk per row", apply: applyChunkedCopy },
  "direct-staging": {
    description: "keyed formats COPY batches straight into import_taxon_staging (savepoint + original path on a duplicate)",
    apply: applyDirectStaging,
  },
  // The resolution keeps ~1 M-row temp tables (_ready, _node, _named) in session-local buffers,
  // 8 MB by default; temp_buffers can only be set before a session first touches a temp table.
  "temp-buffers": { description: "importer sessions start with temp_buffers = 512MB (default 8MB)", connectionSettings: ["temp_buffers=512MB"] },
  // _node is analysed only after the level loop: the next level's INSERT INTO _ready … JOIN
  // import_taxon_staging is planned for ~4 k parents and probes the parent index once per node
  // (950 k probes at the species level, for no rows).
  "analyze-node": {
    description: "resolveStagedTaxa runs ANALYZE _node after adding each level, before collecting the next",
    statementHooks: [{ match: /^INSERT INTO _node \(source_key, level, taxon_id, is_placeholder\) SELECT source_key, \$1/, then: ["ANALYZE _node"] }],
  },
  // Every new taxon adds ~6 keys to the GIN index on ancestor_ids and every scientific name ~10
  // trigrams to the one on lower(name): with the default 4 MB pending list, GIN merges its pending
  // entries into the index every few thousand rows.
  "gin-pending": {
    description: "importer sessions start with gin_pending_list_limit = 1GB (default 4MB): GIN entries are merged in bulk",
    connectionSettings: ["gin_pending_list_limit=1GB"],
  },
};

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
