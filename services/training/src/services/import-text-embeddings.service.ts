import { basename } from "node:path";
import {
  ensureModelVersion,
  ImportRepository,
  ImportRowError,
  ModelVersionRepository,
  parseModelRef,
  runImport,
  TaxonTextEmbeddingRepository,
  withTransaction,
  type ImportOutcome,
  type ImportRunOptions,
  type StagedTaxonNode,
} from "@arbor/store";
import type { GoodItem, Stats } from "@arbor/store/importers/import-runner.ts";
import { buildLineageNodes, type LineageValues } from "@arbor/store/importers/lineage.ts";
import type { ParsedItem } from "@arbor/store/importers/parsed-item.ts";
import { OfficialSpeciesEmbeddings, type OfficialFilesLayout } from "@arbor/inference/classify/official/official-species-embeddings.ts";

export const DEFAULT_IMPORT_BATCH_SIZE = 1_000;
export const DEFAULT_TEXT_SOURCE = "treeoflife-200m";
/** How far a stored vector's norm may be from 1 before the import warns (float32 storage gives ≈1e-7). */
export const UNIT_NORM_TOLERANCE = 1e-3;
// Non-unit vectors named one by one in the log; all are counted.
const NORM_WARNINGS_LOGGED = 20;

export interface ImportTextEmbeddingsOptions extends ImportRunOptions {
  npyPath: string;
  jsonPath: string;
  /** "name@version"; created when missing (bioclip-2 as the real, active backbone). */
  model: string;
  /** Default "treeoflife-200m". */
  source?: string;
}

/** One column of the official files, as the import sees it. */
type OfficialRow =
  | { kind: "species"; nodes: StagedTaxonNode[]; leafKey: string; embedding: Float32Array; norm: number; column: number }
  | { kind: "no-epithet"; column: number }
  | { kind: "empty-column"; column: number };

/**
 * Imports the official BioCLIP 2 species text embeddings (txt_emb_species.npy float32 [768, N] and
 * txt_emb_species.json) with the store's import runner: the files are streamed by the inference
 * classify reader (one block of columns in memory), checked in full before anything is written,
 * then written in batches that each commit with their checkpoint, so an interrupted import resumes
 * after the last committed batch and a completed one is skipped.
 *
 * Per batch, each species' 7-rank lineage is ensured through the taxonomy import's lineage path
 * (staged, then resolved into the tree), and its vector is upserted as the species' text embedding
 * (kind 'text'), as given: official vectors are unit length; others are counted and logged. Rows
 * without an epithet, and labelled columns that are all zero, are skipped and counted; the zero
 * padding after the last label is dropped.
 */
export async function importTextEmbeddings(options: ImportTextEmbeddingsOptions): Promise<ImportOutcome> {
  const { name, version } = parseModelRef(options.model);
  const models = new ModelVersionRepository(options.pool);
  const existing = (await models.getAll()).find((row) => row.name === name && row.version === version);
  const dimension = existing?.dimension ?? 768;
  const source = options.source ?? DEFAULT_TEXT_SOURCE;
  const file = basename(options.jsonPath);
  const imports = new ImportRepository(options.pool);
  const texts = new TaxonTextEmbeddingRepository(options.pool);
  const log = options.log;
  let modelVersionId = existing?.id;
  let layout: OfficialFilesLayout | undefined;
  let normWarnings = 0;
  // Lineages can move existing taxa under a more specific parent, and their images with them.
  let taxaMoved = false;
  let resumed = false;

  async function* readRows(fromIndex: number): AsyncGenerator<ParsedItem<OfficialRow>> {
    const files = await OfficialSpeciesEmbeddings.open(options.npyPath, options.jsonPath, { dim: dimension });
    if (fromIndex > 0) resumed = true;
    layout = files.layout;
    try {
      // The reader skips all-zero columns; yield them too, so that every label has its index.
      let expected = fromIndex;
      const empties = function* (upTo: number): Generator<ParsedItem<OfficialRow>> {
        for (; expected < upTo; expected++) yield { index: expected, line: expected + 1, value: { kind: "empty-column", column: expected } };
      };
      for await (const species of files.stream({ fromColumn: fromIndex })) {
        yield* empties(species.column);
        expected = species.column + 1;
        yield toItem(species.column, species.lineage, species.commonName, species.embedding);
      }
      yield* empties(files.layout.labels);
    } finally {
      await files.close();
    }
  }

  function toItem(column: number, lineage: readonly string[], commonName: string, embedding: Float32Array): ParsedItem<OfficialRow> {
    const line = column + 1;
    if ((lineage[6] ?? "").trim() === "") return { index: column, line, value: { kind: "no-epithet", column } };
    const values: LineageValues = { kingdom: lineage[0], phylum: lineage[1], class: lineage[2], order: lineage[3], family: lineage[4], genus: lineage[5], species: lineage[6] };
    const built = buildLineageNodes(values, line, { commonName: commonName.trim() === "" ? null : commonName.trim(), commonNameLanguage: "en" });
    if (built.error) return { index: column, line, error: new ImportRowError(file, line, built.error.field, built.error.message) };
    let sum = 0;
    for (let at = 0; at < embedding.length; at++) sum += embedding[at]! * embedding[at]!;
    return { index: column, line, value: { kind: "species", nodes: built.nodes, leafKey: built.leafKey!, embedding, norm: Math.sqrt(sum), column } };
  }

  async function writeBatch(client: Parameters<ImportRepository["clearStaging"]>[0], items: Array<GoodItem<OfficialRow>>, importKey: string): Promise<Stats> {
    const stats: Stats = { speciesRows: 0, skippedNoEpithet: 0, skippedEmptyColumn: 0, nonUnitNorm: 0, duplicateSpecies: 0 };
    const species: Array<Extract<OfficialRow, { kind: "species" }>> = [];
    for (const { value } of items) {
      if (value.kind === "no-epithet") stats.skippedNoEpithet!++;
      else if (value.kind === "empty-column") stats.skippedEmptyColumn!++;
      else species.push(value);
    }
    if (species.length === 0) return stats;
    await imports.stageTaxa(client, importKey, species.flatMap((row) => row.nodes), [], { uniqueKeys: false });
    const resolution = await imports.resolveStagedTaxa(client, importKey, source, { persist: true });
    if (resolution.reparented > 0) taxaMoved = true;
    const taxonIds = await imports.getResolvedTaxonIds(client, importKey, species.map((row) => row.leafKey));
    // Two rows naming the same species: the later one wins, as it does across batches.
    const byTaxon = new Map<number, Float32Array>();
    for (const row of species) {
      const taxonId = taxonIds.get(row.leafKey);
      if (taxonId === undefined) throw new Error(`${file}: species row ${row.column + 1} was not resolved to a taxon`);
      if (byTaxon.has(taxonId)) stats.duplicateSpecies!++;
      byTaxon.set(taxonId, row.embedding);
      if (Math.abs(row.norm - 1) > UNIT_NORM_TOLERANCE) {
        stats.nonUnitNorm!++;
        if (normWarnings++ < NORM_WARNINGS_LOGGED) log.warn({ file, row: row.column + 1, norm: row.norm }, "text embedding is not unit length: stored as given");
      }
    }
    const counts = await texts.upsert(modelVersionId!, [...byTaxon].map(([taxonId, embedding]) => ({ taxonId, embedding })), client);
    stats.speciesRows = species.length;
    return { ...stats, embeddingsWritten: counts.written, embeddingsUnchanged: counts.unchanged, taxaInserted: resolution.inserted, taxaReparented: resolution.reparented };
  }

  const outcome = await runImport<OfficialRow>(
    {
      kind: `text-embeddings-official:${name}@${version}`,
      inputs: [options.npyPath, options.jsonPath],
      source: readRows,
      defaultBatchSize: DEFAULT_IMPORT_BATCH_SIZE,
      beforeWrite: async () => {
        modelVersionId ??= (await ensureModelVersion(models, options.model, dimension)).id;
        log.info({ model: options.model, modelVersionId, labels: layout?.labels, columns: layout?.columns, paddingColumns: layout?.paddingColumns }, "official text embeddings: files accepted");
      },
      writeBatch: (client, items, context) => writeBatch(client, items, context.importKey),
      finish: async (client, context) => {
        await imports.clearStaging(client, context.importKey);
        return { paddingColumnsDropped: layout?.paddingColumns ?? 0 };
      },
      afterComplete: async (): Promise<Stats> => {
        // Moved taxa carry their images to another subtree: refresh the image prototypes. A resumed
        // run cannot tell whether the interrupted one moved any, so it refreshes them too.
        if (!taxaMoved && !resumed) return {};
        let changed = 0;
        for (const id of await imports.getModelVersionIdsWithImageEmbeddings()) {
          const result = await withTransaction(options.pool, (client) => imports.recomputePrototypes(client, id));
          changed += result.written + result.deleted;
        }
        return { prototypesChanged: changed };
      },
    },
    options,
  );
  if ((outcome.stats.nonUnitNorm ?? 0) > 0) {
    log.warn({ nonUnitNorm: outcome.stats.nonUnitNorm, tolerance: UNIT_NORM_TOLERANCE }, "some text embeddings are not unit length (official ones are): stored as given");
  }
  return outcome;
}
