import { parquetWriteBuffer } from 'hyparquet-writer';

import type { ModelInfo } from '../../client.ts';

/** What an embedding was made from: an image file or a text. */
export type EmbeddingSourceColumn = 'file' | 'text';

export interface EmbeddingsOutput {
  readonly source: EmbeddingSourceColumn;
  readonly model: ModelInfo;
  readonly dim: number;
  /** Image preprocessing mode (images only). */
  readonly preprocessing?: string;
  readonly items: readonly { readonly source: string; readonly embedding: Float32Array }[];
}

/** The `model` column value: name@version, enough to keep embeddings of different models apart. */
export function modelLabel(model: ModelInfo): string {
  return `${model.name}@${model.version}`;
}

/**
 * JSON document: the model (with `isStandIn` and, for a stand-in, its notice), `normalization: "l2"`, the
 * dimension, and one `{file|text, embedding}` per input in input order (duplicates kept).
 */
export function embeddingsToJson(output: EmbeddingsOutput): string {
  const document = {
    model: output.model,
    ...(output.preprocessing ? { preprocessing: output.preprocessing } : {}),
    normalization: 'l2',
    dim: output.dim,
    embeddings: output.items.map((item) => ({ [output.source]: item.source, embedding: Array.from(item.embedding) })),
  };
  return `${JSON.stringify(document)}\n`;
}

/**
 * Parquet file with columns `file` (or `text`), `model` and `embedding` (LIST<FLOAT>, the float32 values as they
 * are). The model description, stand-in flag included, is in the file's key-value metadata under `arbor.model`.
 */
export function embeddingsToParquet(output: EmbeddingsOutput): Uint8Array {
  const label = modelLabel(output.model);
  const buffer = parquetWriteBuffer({
    columnData: [
      { name: output.source, data: output.items.map((item) => item.source) },
      { name: 'model', data: output.items.map(() => label) },
      { name: 'embedding', data: output.items.map((item) => Array.from(item.embedding)) },
    ],
    schema: [
      { name: 'root', num_children: 3 },
      { name: output.source, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
      { name: 'model', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
      { name: 'embedding', converted_type: 'LIST', repetition_type: 'REQUIRED', num_children: 1 },
      { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
      { name: 'element', type: 'FLOAT', repetition_type: 'REQUIRED' },
    ],
    kvMetadata: [
      { key: 'arbor.model', value: JSON.stringify(output.model) },
      { key: 'arbor.normalization', value: 'l2' },
      ...(output.preprocessing ? [{ key: 'arbor.preprocessing', value: output.preprocessing }] : []),
    ],
    createdBy: 'arbor',
  });
  return new Uint8Array(buffer);
}
