import type { InferenceClient, ModelInfo } from "@arbor/inference/client.ts";
import type { TextEncoderFn } from "@arbor/inference/classify/zero-shot-labels.ts";
import { PermanentJobError } from "../errors.ts";

export interface InferenceTextEncoderOptions {
  /** The model version the embeddings will be stored under: the service must serve exactly it. */
  expectedModel: { name: string; version: string };
  dimension: number;
  /** Texts per request (≤ the service's MAX_TEXTS_PER_REQUEST). */
  maxTextsPerRequest: number;
  /** Requests kept in flight; the service micro-batches what arrives together. */
  concurrency: number;
  requestId?: string;
  signal?: AbortSignal;
}

/**
 * The model's text encoder as a TextEncoderFn, through the inference service: splits a list of
 * texts into requests, keeps `concurrency` of them in flight, and refuses answers from another
 * model than the one the embeddings will be stored under.
 */
export class InferenceTextEncoder {
  /** The model of the last answer (stand-in or not). */
  model: ModelInfo | undefined;

  constructor(
    private readonly client: InferenceClient,
    private readonly options: InferenceTextEncoderOptions,
  ) {}

  readonly encode: TextEncoderFn = async (texts) => {
    const { maxTextsPerRequest, concurrency, requestId, signal } = this.options;
    const chunks: string[][] = [];
    for (let start = 0; start < texts.length; start += maxTextsPerRequest) chunks.push(texts.slice(start, start + maxTextsPerRequest));
    const results: Float32Array[][] = new Array(chunks.length);
    let next = 0;
    const lane = async () => {
      while (next < chunks.length) {
        const at = next++;
        const response = await this.client.embedTexts(chunks[at]!, { requestId, signal });
        this.check(response.model, response.dim);
        results[at] = response.vectors;
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, chunks.length) }, lane));
    return results.flat();
  };

  private check(model: ModelInfo, dim: number): void {
    const { expectedModel, dimension } = this.options;
    if (model.name !== expectedModel.name || model.version !== expectedModel.version) {
      throw new PermanentJobError(
        `the inference service serves ${model.name}@${model.version}${model.isStandIn ? " (stand-in)" : ""}, but the job's model version is ` +
          `${expectedModel.name}@${expectedModel.version}: its text embeddings would be stored under the wrong model`,
      );
    }
    if (dim !== dimension) throw new PermanentJobError(`the inference service returned ${dim}-d embeddings; model version ${expectedModel.name}@${expectedModel.version} has ${dimension}`);
    this.model = model;
  }
}
