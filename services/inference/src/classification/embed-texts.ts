import type { LoadedModel } from '../models/model-host.ts';

/** Text embeddings of any number of texts: the text queue refuses a submission larger than MAX_QUEUE, so feed it in chunks. */
export async function embedTextsInChunks(model: LoadedModel, texts: readonly string[], maxQueue: number): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (let i = 0; i < texts.length; i += maxQueue) out.push(...(await model.texts.embed(texts.slice(i, i + maxQueue))));
  return out;
}
