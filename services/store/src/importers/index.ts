export { ImportAbortedError, ImportFileError, ImportRowError, ImportUsageError } from "./errors.ts";
export { runImport, type ImportOutcome, type ImportRunOptions } from "./import-runner.ts";
export { importTaxa, defaultTaxaSource, type TaxaKind, type TaxaImportOptions } from "./taxa.importer.ts";
export { importTraits, type TraitsKind, type TraitsImportOptions } from "./traits.importer.ts";
export { importEmbeddings, ensureModelVersion, parseModelRef, type EmbeddingsKind, type EmbeddingsImportOptions } from "./embeddings.importer.ts";
export { recomputePrototypesFor } from "./prototypes.ts";
export { createProgressReporter, silentProgress, type ProgressEvent, type ProgressReporter } from "./progress.ts";

export const IMPORT_KINDS = [
  "taxa-parent-child",
  "taxa-lineage",
  "taxa-dwca",
  "traits-avonet",
  "traits-pantheria",
  "traits-anage",
  "embeddings-parquet",
  "embeddings-raw",
  "prototypes",
] as const;
export type ImportKind = (typeof IMPORT_KINDS)[number];
