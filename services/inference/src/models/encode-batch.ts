import type * as ort from 'onnxruntime-node';

import { l2NormalisedRows } from './embedding-math.ts';
import { EncoderUnavailableError } from './errors.ts';

// After a worker thread dies its session is re-created: a few seconds for ViT-L/14.
const ENCODER_RETRY_AFTER_S = 5;

export interface EncoderBatch {
  session: ort.InferenceSession;
  encoder: 'image' | 'text';
  io: { input: string; output: string };
  embeddingDim: number;
}

/**
 * Runs one batch of `rows` items through an encoder and returns the rows L2-normalised. A failure of
 * the session itself (an ONNX Runtime error, a dead worker thread) is EncoderUnavailableError for every
 * caller of the batch; an output of the wrong shape is a broken model, left as an internal error.
 */
export async function encodeBatch({ session, encoder, io, embeddingDim }: EncoderBatch, input: ort.Tensor, rows: number): Promise<Float32Array[]> {
  let outputs: ort.InferenceSession.ReturnType;
  try {
    outputs = await session.run({ [io.input]: input });
  } catch (error) {
    throw new EncoderUnavailableError(encoder, ENCODER_RETRY_AFTER_S, { cause: error });
  }
  const output = outputs[io.output];
  if (!output || output.dims[0] !== rows || output.dims[1] !== embeddingDim) {
    throw new Error(`${encoder} encoder output ${io.output} has dims [${output?.dims.join(', ')}], expected [${rows}, ${embeddingDim}]`);
  }
  return l2NormalisedRows(output.data as Float32Array, rows, embeddingDim);
}
