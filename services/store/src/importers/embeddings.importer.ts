import { withTransaction } from "../db.ts";
import { ImportRepository, imageKey, type ImageInput, type StagedTaxonNode } from "../repositories/import.repository.ts";
import { ModelVersionRepository, type ModelVersionInput, type ModelVersionRow } from "../repositories/model-version.repository.ts";
import type { EmbeddingRecord } from "./embedding-record.ts";
import { ImportUsageError } from "./errors.ts";
import { runImport, type GoodItem, type ImportOutcome, type ImportRunOptions, type Stats } from "./import-runner.ts";
import { buildLineageNodes } from "./lineage.ts";
import { parseParquetEmbeddings } from "./parquet-embeddings.parser.ts";
import { parseRawEmbeddings } from "./raw-embeddings.parser.ts";

export type EmbeddingsKind = "embeddings-parquet" | "embeddings-raw";

export interface EmbeddingsImportOptions extends ImportRunOptions {
  /** "name@version", e.g. "bioclip-2@1". */
  model: string;
  /** Vector dimension; default the model version's (768). */
  dimension?: number;
  /** embeddings-raw: the metadata CSV. */
  metadataPath?: string;
  /** Source name of the lineage taxa's external ids and names; default "treeoflife-200m". */
  source?: string;
  /** Recompute the model's prototypes afterwards; default true. */
  prototypes?: boolean;
}

const EMBEDDINGS_BATCH_SIZE = 256;

/**
 * Known backbones, used when the model version does not exist yet. The bioclip2-sample files hold
 * real BioCLIP 2 image embeddings; logit scale 100 is open_clip's default (exp(4.6052)), an
 * assumption until the checkpoint's own logit_scale is read.
 */
const KNOWN_MODELS: Record<string, Omit<ModelVersionInput, "name" | "version">> = {
  "bioclip-2": {
    kind: "backbone",
    isStandIn: false,
    status: "active",
    logitScale: 100,
    dimension: 768,
    description: "BioCLIP 2 (open_clip ViT-L/14, imageomics/bioclip-2); image embeddings imported as given (not L2-normalised).",
  },
};

export function parseModelRef(ref: string): { name: string; version: string } {
  const at = ref.lastIndexOf("@");
  if (at <= 0 || at === ref.length - 1) throw new ImportUsageError(`--model must be name@version (e.g. bioclip-2@1), got "${ref}"`);
  return { name: ref.slice(0, at), version: ref.slice(at + 1) };
}

/** Finds the model version, creating it (as a candidate, or from KNOWN_MODELS) when missing. */
export async function ensureModelVersion(models: ModelVersionRepository, ref: string, dimension?: number): Promise<ModelVersionRow> {
  const { name, version } = parseModelRef(ref);
  const known = KNOWN_MODELS[name] ?? { kind: "backbone" as const, isStandIn: false, status: "candidate" as const };
  return models.upsert({ ...known, name, version, dimension: dimension ?? known.dimension ?? 768 });
}

/**
 * Imports image embeddings: per batch, in one transaction, each row's lineage taxa are ensured
 * (the lineage code path: staged, then resolved into the tree), its image is upserted by
 * (source, uuid) with URL and attribution, and its embedding is upserted for the model version.
 * Vectors are stored as given: the files are not L2-normalised (norm ≈ 45) and cosine search and
 * prototypes normalise anyway. Rows without any lineage still get an image (taxon NULL).
 */
export async function importEmbeddings(kind: EmbeddingsKind, path: string, options: EmbeddingsImportOptions): Promise<ImportOutcome> {
  const models = new ModelVersionRepository(options.pool);
  const { name, version } = parseModelRef(options.model);
  const existing = (await models.getAll()).find((row) => row.name === name && row.version === version);
  const dimension = options.dimension ?? existing?.dimension ?? KNOWN_MODELS[name]?.dimension ?? 768;
  if (existing && dimension !== existing.dimension) throw new ImportUsageError(`--dim ${dimension} differs from ${options.model}'s dimension ${existing.dimension}`);
  if (kind === "embeddings-raw" && !options.metadataPath) throw new ImportUsageError("embeddings-raw needs --metadata <csv>");
  const source = options.source ?? "treeoflife-200m";
  const repository = new ImportRepository(options.pool);
  // Created only once the file has passed the first pass: a rejected file changes nothing.
  let modelVersionId = existing?.id;
  return runImport<EmbeddingRecord>(
    {
      kind: `${kind}:${name}@${version}`,
      inputs: kind === "embeddings-raw" ? [path, options.metadataPath!] : [path],
      source:
        kind === "embeddings-parquet"
          ? (fromIndex) => parseParquetEmbeddings(path, { dimension }, fromIndex)
          : () => parseRawEmbeddings(path, { metadataPath: options.metadataPath!, dimension }),
      defaultBatchSize: EMBEDDINGS_BATCH_SIZE,
      beforeWrite: async () => {
        modelVersionId ??= (await ensureModelVersion(models, options.model, dimension)).id;
      },
      writeBatch: (client, items, context) => writeEmbeddingBatch(client, items, context.importKey, repository, modelVersionId!, source),
      finish: async (client, context) => {
        await repository.clearStaging(client, context.importKey);
        return {};
      },
      afterComplete: options.prototypes === false
        ? undefined
        : async () => {
            const result = await withTransaction(options.pool, (client) => repository.recomputePrototypes(client, modelVersionId!));
            return { prototypes: result.prototypes, prototypesChanged: result.written + result.deleted };
          },
    },
    options,
  );
}

async function writeEmbeddingBatch(
  client: Parameters<ImportRepository["clearStaging"]>[0],
  items: Array<GoodItem<EmbeddingRecord>>,
  importKey: string,
  repository: ImportRepository,
  modelVersionId: number,
  source: string,
): Promise<Stats> {
  const nodes: StagedTaxonNode[] = [];
  const leafKeys: Array<string | null> = [];
  for (const item of items) {
    // Lineage errors were reported in the first pass; such rows never reach a batch.
    const lineage = buildLineageNodes(item.value.lineage, item.line, {
      commonName: item.value.commonName,
      commonNameLanguage: commonNameLanguage(item.value.image.publisher),
    });
    nodes.push(...(lineage.nodes ?? []));
    leafKeys.push(lineage.leafKey ?? null);
  }
  await repository.stageTaxa(client, importKey, nodes, [], { uniqueKeys: false });
  const resolution = await repository.resolveStagedTaxa(client, importKey, source, { persist: true });
  const taxonIds = await repository.getResolvedTaxonIds(client, importKey, leafKeys.filter((key): key is string => key !== null));
  // A uuid repeated within a batch: the last row wins, as it does across batches.
  const images = new Map<string, { image: ImageInput; embedding: Float32Array }>();
  items.forEach((item, at) => {
    const key = leafKeys[at];
    const image: ImageInput = { ...item.value.image, taxonId: key ? (taxonIds.get(key) ?? null) : null };
    images.set(imageKey(image.source, image.sourceId), { image, embedding: item.value.embedding });
  });
  const ids = await repository.upsertImages(client, [...images.values()].map((entry) => entry.image));
  await repository.upsertImageEmbeddings(
    client,
    modelVersionId,
    [...images.entries()].map(([key, entry]) => ({ imageId: ids.get(key)!, embedding: entry.embedding })),
  );
  return {
    images: images.size,
    imagesWithoutTaxon: [...images.values()].filter((entry) => entry.image.taxonId === null).length,
    taxaInserted: resolution.inserted,
    taxaReparented: resolution.reparented,
  };
}

/**
 * TreeOfLife-200M rows carry the vernacular name their publisher gave, in any language (an
 * Artdatabanken row names Corvus corax "korp"). iNaturalist's GBIF export uses English names; any
 * other publisher's name is kept as a vernacular name of undetermined language ('und', ISO 639-2),
 * so it never becomes a taxon's preferred English common name.
 */
function commonNameLanguage(publisher: string | null): string {
  return publisher === "iNaturalist.org" ? "en" : "und";
}
