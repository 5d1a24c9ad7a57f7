import { basename, extname } from "node:path";
import { withTransaction, type PoolClient } from "../db.ts";
import type { StagedName, StagedTaxonNode } from "../repositories/import.repository.ts";
import { parseDwca, type DwcaOptions } from "./dwca.parser.ts";
import { ImportAbortedError, ImportRowError } from "./errors.ts";
import { runImport, type ImportOutcome, type ImportRunOptions, type JobContext, type Stats } from "./import-runner.ts";
import { parseLineage, type LineageOptions } from "./lineage.parser.ts";
import { parseParentChild, type ParentChildOptions } from "./parent-child.parser.ts";
import type { ItemSource } from "./parsed-item.ts";
import type { TaxonRowValue } from "./taxon-row.ts";

export type TaxaKind = "taxa-parent-child" | "taxa-lineage" | "taxa-dwca";

export interface TaxaImportOptions extends ImportRunOptions, ParentChildOptions, LineageOptions, DwcaOptions {
  /** Name of the source in taxon_external_id and taxon_name.source; default per kind. */
  source?: string;
  /** Recompute prototypes of every model version with image embeddings afterwards; default true. */
  prototypes?: boolean;
}

const TAXA_BATCH_SIZE = 5_000;
// Orphans listed in the outcome and the log (all are counted).
const ORPHANS_REPORTED = 50;

export function defaultTaxaSource(kind: TaxaKind, path: string): string {
  if (kind === "taxa-parent-child") return "inaturalist";
  if (kind === "taxa-dwca") return "dwca";
  return basename(path, extname(path));
}

/**
 * Imports a taxonomy: every row is staged (batch by batch, checkpointed), then one transaction
 * resolves the staged nodes into the tree (merging with what is there), adds names and external
 * ids, fixes child counts and removes the staging rows. Orphans (a parent id never found) are
 * reported by line; they count as bad rows against --max-errors.
 */
export async function importTaxa(kind: TaxaKind, path: string, options: TaxaImportOptions): Promise<ImportOutcome> {
  const source = options.source ?? defaultTaxaSource(kind, path);
  const file = basename(path);
  const parse: ItemSource<TaxonRowValue> =
    kind === "taxa-parent-child" ? () => parseParentChild(path, options) : kind === "taxa-lineage" ? () => parseLineage(path, options) : () => parseDwca(path, options);
  const uniqueKeys = kind !== "taxa-lineage";
  const parentField = kind === "taxa-dwca" ? "parentNameUsageID" : "parent_taxon_id";
  return runImport<TaxonRowValue>(
    {
      kind,
      inputs: [path],
      source: parse,
      defaultBatchSize: TAXA_BATCH_SIZE,
      async writeBatch(client, items, context) {
        const nodes: StagedTaxonNode[] = [];
        const names: StagedName[] = [];
        for (const item of items) {
          nodes.push(...item.value.nodes);
          names.push(...item.value.names);
        }
        const duplicates = await context.repository.stageTaxa(client, context.importKey, nodes, names, { uniqueKeys });
        if (duplicates.length > 0) {
          const errors = duplicates.map((d) => new ImportRowError(file, d.lineNo, kind === "taxa-dwca" ? "taxonID" : "taxon_id", `duplicate id "${d.sourceKey}" (first on line ${d.firstLineNo})`));
          throw new ImportAbortedError(errors, 0);
        }
        return { staged: nodes.length };
      },
      async finish(client, context) {
        if (uniqueKeys) {
          await context.repository.linkExternalParents(client, context.importKey, source);
          await rejectOrphans(client, context, file, parentField);
        }
        const resolution = await context.repository.resolveStagedTaxa(client, context.importKey, source, { persist: false });
        await context.repository.clearStaging(client, context.importKey);
        context.log.info({ ...resolution }, "taxa resolved");
        return { ...resolution };
      },
      afterComplete: options.prototypes === false ? undefined : (context) => recomputeAllPrototypes(options, context),
    },
    options,
  );
}

async function rejectOrphans(client: PoolClient, context: JobContext, file: string, parentField: string): Promise<void> {
  const orphans = await context.repository.findOrphans(client, context.importKey, ORPHANS_REPORTED);
  if (orphans.count === 0) return;
  const errors = orphans.rows.map(
    (orphan) => new ImportRowError(file, orphan.lineNo, orphan.isSynonym ? "acceptedNameUsageID" : parentField, `${orphan.isSynonym ? "accepted taxon" : "parent"} "${orphan.missingKey}" is not in the file`),
  );
  if (orphans.count > context.errorBudget) throw new ImportAbortedError(errors, Math.max(context.errorBudget, 0));
  for (const error of errors) context.log.warn({ error: error.toJSON() }, "orphan skipped with its descendants");
}

/** Taxonomy changes move images between subtrees: refresh the prototypes of every model version. */
async function recomputeAllPrototypes(options: ImportRunOptions, context: JobContext): Promise<Stats> {
  let prototypes = 0;
  for (const modelVersionId of await context.repository.getModelVersionIdsWithImageEmbeddings()) {
    const result = await withTransaction(options.pool, (client) => context.repository.recomputePrototypes(client, modelVersionId));
    prototypes += result.written + result.deleted;
  }
  return { prototypesChanged: prototypes };
}
