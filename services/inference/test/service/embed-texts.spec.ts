// embedTextsInChunks: how work is fed to the shared text queue (a fake model stands in for the encoder).
import { describe, expect, it } from 'vitest';

import { QueueFullError, ShuttingDownError } from '../../src/batching/errors.ts';
import { embedTextsInChunks } from '../../src/classification/embed-texts.ts';
import type { LoadedModel } from '../../src/models/model-host.ts';

/** A model whose text queue refuses the first `refusals` submissions as full, then embeds each text as [its length]. */
function fakeModel(refusals: number, error: () => Error = () => new QueueFullError('text', 4, 256, 256, 1)) {
  const chunks: number[] = [];
  let refused = 0;
  const model = {
    texts: {
      embed: async (texts: readonly string[]) => {
        if (refused < refusals) {
          refused++;
          throw error();
        }
        chunks.push(texts.length);
        return texts.map((t) => Float32Array.of(t.length));
      },
    },
  } as unknown as LoadedModel;
  return { model, chunks, refusedCount: () => refused };
}

const TEXTS = Array.from({ length: 10 }, (_, i) => 'x'.repeat(i + 1));

describe('embedTextsInChunks', () => {
  it('feeds the queue chunk by chunk and keeps the order', async () => {
    const { model, chunks } = fakeModel(0);
    const vectors = await embedTextsInChunks(model, TEXTS, 4);
    expect(chunks).toEqual([4, 4, 2]);
    expect(vectors.map((v) => v[0])).toEqual(TEXTS.map((t) => t.length));
  });

  it("lets a client's request fail on a full queue, while background work waits for room", async () => {
    await expect(embedTextsInChunks(fakeModel(1).model, TEXTS, 4)).rejects.toBeInstanceOf(QueueFullError);
    const background = fakeModel(3);
    const vectors = await embedTextsInChunks(background.model, TEXTS, 4, { background: true });
    expect(background.refusedCount()).toBe(3);
    expect(background.chunks).toEqual([4, 4, 2]);
    expect(vectors.map((v) => v[0])).toEqual(TEXTS.map((t) => t.length));
  });

  it('stops background work on any other error (a shutdown)', async () => {
    const { model } = fakeModel(1, () => new ShuttingDownError('text'));
    await expect(embedTextsInChunks(model, TEXTS, 4, { background: true })).rejects.toBeInstanceOf(ShuttingDownError);
  });
});
