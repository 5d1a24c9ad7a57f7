// The binary path of the embedding endpoints (server side): one image as the raw request body, and
// embeddings answered as raw float32 instead of JSON numbers when the caller's Accept prefers it. The
// wire contract (content type, header names) is in client.ts, which decodes it.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { endianness } from 'node:os';

import accepts from 'accepts';

import { EMBEDDING_HEADERS, EMBEDDINGS_BINARY_TYPE, type ModelInfo } from './client.ts';

/** Content types under which POST /v1/embed/images takes one image file as the whole body. */
export const RAW_IMAGE_TYPES: readonly string[] = [
  'image/jpeg',
  'image/png',
  'image/webp',
  'image/gif',
  'image/tiff',
  'image/avif',
  'image/heif',
  'application/octet-stream',
];

const RAW_IMAGE_TYPE_SET = new Set(RAW_IMAGE_TYPES);

/**
 * Whether the request sends one raw image. Read from the header itself, not `req.is()`, which answers null
 * for a request without a body: an image content type with no bytes is an empty image (400), not a 415.
 */
export function sendsRawImage(req: IncomingMessage): boolean {
  const mediaType = req.headers['content-type']?.split(';', 1)[0]!.trim().toLowerCase();
  return mediaType !== undefined && RAW_IMAGE_TYPE_SET.has(mediaType);
}

/**
 * Whether the caller's Accept prefers raw float32 to JSON: by q-value, then by the order the caller listed them. No
 * Accept, or only wildcards, keep JSON.
 */
export function prefersBinaryEmbeddings(req: IncomingMessage): boolean {
  // The negotiation express's req.accepts() runs.
  return accepts(req).type(['application/json', EMBEDDINGS_BINARY_TYPE]) === EMBEDDINGS_BINARY_TYPE;
}

/** ModelInfo as JSON with every character outside printable ASCII escaped: a valid header value for any model name. */
export function modelHeaderValue(model: ModelInfo): string {
  return JSON.stringify(model).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** count × dim float32 little-endian, row after row: each vector's bytes copied once, no per-float work. */
export function embeddingsBytes(vectors: readonly Float32Array[]): Buffer {
  const dim = vectors[0]?.length ?? 0;
  const body = Buffer.allocUnsafe(vectors.length * dim * Float32Array.BYTES_PER_ELEMENT);
  vectors.forEach((vector, row) => {
    if (vector.length !== dim) throw new Error(`embedding ${row} has ${vector.length} values, embedding 0 has ${dim}`);
    body.set(new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength), row * dim * Float32Array.BYTES_PER_ELEMENT);
  });
  if (endianness() === 'BE') body.swap32();
  return body;
}

/** Answers embeddings as raw float32 with their description in headers (see EMBEDDING_HEADERS). */
export function sendBinaryEmbeddings(res: ServerResponse, model: ModelInfo, vectors: readonly Float32Array[]): void {
  const body = embeddingsBytes(vectors);
  res.setHeader(EMBEDDING_HEADERS.count, String(vectors.length));
  res.setHeader(EMBEDDING_HEADERS.dim, String(vectors[0]?.length ?? 0));
  res.setHeader(EMBEDDING_HEADERS.normalization, 'l2');
  res.setHeader(EMBEDDING_HEADERS.model, modelHeaderValue(model));
  res.setHeader('Content-Type', EMBEDDINGS_BINARY_TYPE);
  res.setHeader('Content-Length', body.length);
  res.end(body);
}
