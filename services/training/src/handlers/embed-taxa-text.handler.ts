import type { JobHandler } from "../job-handler.ts";
import { DEFAULT_EMBED_BATCH_SIZE, DEFAULT_EMBED_RANK, embedTaxaText } from "../services/embed-taxa-text.service.ts";

/** `embed-taxa-text`: text embeddings for the taxa that lack one under a model version (resumable). */
export const embedTaxaTextHandler: JobHandler<"embed-taxa-text"> = {
  name: "embed-taxa-text",
  async run(payload, context) {
    const { store, inference, config } = context.deps;
    const previousDone = Number(context.previousProgress.done ?? 0);
    const result = await embedTaxaText({
      modelVersions: store.modelVersions,
      textEmbeddings: store.taxonTextEmbeddings,
      client: inference,
      modelVersionId: payload.modelVersionId,
      rank: payload.rank ?? DEFAULT_EMBED_RANK,
      rootTaxonId: payload.rootTaxonId,
      batchSize: payload.batchSize ?? DEFAULT_EMBED_BATCH_SIZE,
      maxTextsPerRequest: config.inferenceMaxTextsPerRequest,
      concurrency: config.inferenceConcurrency,
      previousDone: Number.isSafeInteger(previousDone) && previousDone > 0 ? previousDone : 0,
      saveProgress: (progress) => context.saveProgress({ ...progress }),
      log: context.log,
      signal: context.signal,
      requestId: payload.requestId,
    });
    // An earlier attempt may have done all the work and died before recording it: that is a success.
    if (result.done === 0) return { status: "skipped", reason: "every matching taxon already has a text embedding for this model version", result: { ...result } };
    return { status: "succeeded", result: { ...result } };
  },
};
