/** pgvector's text form: '[1,2,3]'. */
export function toVectorLiteral(values: ArrayLike<number>): string {
  return `[${Array.from(values).join(",")}]`;
}

export function parseVector(text: string): Float32Array {
  return Float32Array.from(text.slice(1, -1).split(","), Number);
}

/**
 * Session settings for one approximate (HNSW) search, applied with SET LOCAL inside the search's
 * transaction: the embedded database shares one backend between connections, so a plain SET
 * would leak into other clients. Iterative scans (pgvector ≥ 0.8) keep filtered searches from
 * returning fewer than k rows.
 */
export function hnswSearchSettings(efSearch: number): string[] {
  return [
    `SET LOCAL hnsw.ef_search = ${Math.trunc(efSearch)}`,
    "SET LOCAL hnsw.iterative_scan = relaxed_order",
  ];
}
