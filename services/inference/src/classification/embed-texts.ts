import { QueueFullError } from '../batching/errors.ts';
import type { LoadedModel } from '../models/model-host.ts';

/** How long background work waits before offering a chunk again to a full text queue. */
const FULL_QUEUE_WAIT_MS = 25;

/**
 * Text embeddings of any number of texts, fed to the text queue `chunk` texts at a time (the queue refuses a
 * submission larger than MAX_QUEUE). A client's request passes MAX_QUEUE and lets a full queue answer 429.
 * Background work (`background: true`) passes one batch's worth, so that clients' requests still find room in the
 * queue they share, and waits for room when clients have filled it instead of failing.
 */
export async function embedTextsInChunks(
  model: LoadedModel,
  texts: readonly string[],
  chunk: number,
  options: { background?: boolean } = {},
): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (let i = 0; i < texts.length; i += chunk) {
    const part = texts.slice(i, i + chunk);
    out.push(...(await (options.background ? embedWhenRoom(model, part) : model.texts.embed(part))));
  }
  return out;
}

async function embedWhenRoom(model: LoadedModel, texts: readonly string[]): Promise<Float32Array[]> {
  for (;;) {
    try {
      return await model.texts.embed(texts);
    } catch (error) {
      if (!(error instanceof QueueFullError)) throw error;
      await new Promise((resolve) => setTimeout(resolve, FULL_QUEUE_WAIT_MS));
    }
  }
}
