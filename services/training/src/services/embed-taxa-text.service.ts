import type { ModelVersionRepository, TaxonTextEmbeddingRepository } from "@arbor/store";
import type { InferenceClient } from "@arbor/inference/client.ts";
import { embedClassTexts } from "@arbor/inference/classify/zero-shot-labels.ts";
import { PermanentJobError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import { InferenceTextEncoder } from "./inference-text-encoder.ts";
import { labelOf } from "./taxon-label.ts";

export const DEFAULT_EMBED_BATCH_SIZE = 16;
export const DEFAULT_EMBED_RANK = "species";

export interface EmbedTaxaTextProgress {
  done: number;
  total: number;
}

export interface EmbedTaxaTextOptions {
  modelVersions: ModelVersionRepository;
  textEmbeddings: TaxonTextEmbeddingRepository;
  client: InferenceClient;
  modelVersionId: number;
  rank: string;
  rootTaxonId?: number;
  batchSize: number;
  maxTextsPerRequest: number;
  concurrency: number;
  /** Taxa embedded by earlier attempts of the same job (from its saved progress). */
  previousDone: number;
  saveProgress(progress: EmbedTaxaTextProgress): Promise<void>;
  log: Logger;
  signal: AbortSignal;
  requestId?: string;
}

export interface EmbedTaxaTextResult {
  modelVersion: string;
  /** The inference service's model is a stand-in (NOT BioCLIP 2). */
  isStandIn: boolean | null;
  rank: string;
  rootTaxonId: number | null;
  /** Taxa embedded by this attempt. */
  embedded: number;
  /** Taxa embedded by the job so far, over every attempt, out of `total`. */
  done: number;
  total: number;
  seconds: number;
}

/**
 * Gives every taxon of a rank (in a subtree) that lacks one a text embedding under the model
 * version: its zero-shot label in the 80 templates, embedded by the inference service,
 * normalised, averaged and renormalised (embedClassTexts). Taxa are read in pages by id and each
 * page is stored, then the progress saved, before the next, so an interrupted run resumes with
 * the taxa still missing and never recomputes a stored one.
 */
export async function embedTaxaText(options: EmbedTaxaTextOptions): Promise<EmbedTaxaTextResult> {
  const { log, signal } = options;
  const started = Date.now();
  const model = await options.modelVersions.getById(options.modelVersionId);
  if (!model) throw new PermanentJobError(`model version ${options.modelVersionId} does not exist`);
  const filter = { rank: options.rank, rootTaxonId: options.rootTaxonId };
  const remaining = await options.textEmbeddings.countLacking(model.id, filter);
  let done = options.previousDone;
  const total = done + remaining;
  const result = (embedded: number, isStandIn: boolean | null): EmbedTaxaTextResult => ({
    modelVersion: `${model.name}@${model.version}`,
    isStandIn,
    rank: options.rank,
    rootTaxonId: options.rootTaxonId ?? null,
    embedded,
    done,
    total,
    seconds: (Date.now() - started) / 1000,
  });
  if (remaining === 0) return result(0, null);

  const encoder = new InferenceTextEncoder(options.client, {
    expectedModel: model,
    dimension: model.dimension,
    maxTextsPerRequest: options.maxTextsPerRequest,
    concurrency: options.concurrency,
    requestId: options.requestId,
    signal,
  });
  log.info({ modelVersion: `${model.name}@${model.version}`, rank: options.rank, rootTaxonId: options.rootTaxonId, remaining, resumedAt: done }, "embedding taxon labels");
  await options.saveProgress({ done, total });
  let embedded = 0;
  for await (const page of options.textEmbeddings.streamLacking(model.id, filter, options.batchSize)) {
    signal.throwIfAborted();
    const vectors = await embedClassTexts(page.map(labelOf), encoder.encode, { dim: model.dimension, classesPerCall: page.length });
    signal.throwIfAborted();
    await options.textEmbeddings.upsert(model.id, page.map((row, at) => ({ taxonId: row.taxonId, embedding: vectors[at]! })));
    embedded += page.length;
    done += page.length;
    await options.saveProgress({ done, total });
    const seconds = (Date.now() - started) / 1000;
    const taxaPerSecond = embedded / Math.max(seconds, 1e-3);
    log.info({ done, total, taxaPerSecond: Math.round(taxaPerSecond * 10) / 10, etaSeconds: Math.round((total - done) / taxaPerSecond) }, "progress");
  }
  if (encoder.model?.isStandIn) log.warn({ model: encoder.model }, "text embeddings come from a stand-in model, NOT BioCLIP 2");
  return result(embedded, encoder.model?.isStandIn ?? null);
}
