/**
 * Splits a row-major [rows, dim] encoder output into rows scaled to unit L2 norm (accumulated in
 * float64). A zero or non-finite row means a broken model (e.g. fp16 overflow): it throws rather than
 * return a vector that cosine similarity would silently misrank.
 */
export function l2NormalisedRows(data: Float32Array, rows: number, dim: number): Float32Array[] {
  if (data.length !== rows * dim) throw new Error(`expected ${rows}×${dim} values, got ${data.length}`);
  const out: Float32Array[] = [];
  for (let r = 0; r < rows; r++) {
    const row = data.slice(r * dim, (r + 1) * dim);
    let squares = 0;
    for (let i = 0; i < dim; i++) squares += row[i] * row[i];
    const norm = Math.sqrt(squares);
    if (!Number.isFinite(norm) || norm === 0) throw new Error(`row ${r} of the encoder output has norm ${norm}`);
    for (let i = 0; i < dim; i++) row[i] /= norm;
    out.push(row);
  }
  return out;
}
