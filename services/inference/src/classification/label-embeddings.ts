import { embedClassTexts } from '../classify/index.ts';

// Labels kept per text encoder: 4,096 × 768 float32 ≈ 12 MiB.
const CAPACITY = 4096;

/**
 * Zero-shot embeddings of custom labels (each in the 80 templates, averaged), remembered per text encoder with
 * least-recently-used eviction: a client sending the same labels with every image pays for them once.
 */
export class LabelEmbeddings {
  readonly #cache = new Map<string, Float32Array>();

  async embed(labels: readonly string[], encoderSha256: string, dim: number, encode: (texts: readonly string[]) => Promise<Float32Array[]>): Promise<Float32Array[]> {
    const key = (label: string) => `${encoderSha256}\u0000${label}`;
    const missing = [...new Set(labels.filter((label) => !this.#cache.has(key(label))))];
    if (missing.length > 0) {
      const vectors = await embedClassTexts(missing, (texts) => encode(texts), { dim });
      missing.forEach((label, i) => this.#remember(key(label), vectors[i]!));
    }
    return labels.map((label) => {
      const vector = this.#cache.get(key(label))!;
      this.#remember(key(label), vector);
      return vector;
    });
  }

  #remember(key: string, vector: Float32Array): void {
    this.#cache.delete(key);
    this.#cache.set(key, vector);
    if (this.#cache.size > CAPACITY) this.#cache.delete(this.#cache.keys().next().value!);
  }
}
