/** Cosine similarity of each row of two row-major [rows, dim] matrices, in float64. */
export function rowCosines(a: ArrayLike<number>, b: ArrayLike<number>, dim: number): number[] {
  if (a.length !== b.length || a.length % dim !== 0) throw new RangeError(`shapes differ: ${a.length} vs ${b.length} values, dim ${dim}`);
  const out: number[] = [];
  for (let offset = 0; offset < a.length; offset += dim) {
    let dot = 0;
    let aa = 0;
    let bb = 0;
    for (let i = offset; i < offset + dim; i++) {
      const x = a[i]!;
      const y = b[i]!;
      dot += x * y;
      aa += x * x;
      bb += y * y;
    }
    out.push(dot / Math.sqrt(aa * bb));
  }
  return out;
}

export interface CosineSummary {
  min: number;
  mean: number;
  rows: number;
}

export function summarizeCosines(values: readonly number[]): CosineSummary {
  return { min: Math.min(...values), mean: values.reduce((sum, v) => sum + v, 0) / values.length, rows: values.length };
}

function centred(values: ArrayLike<number>, dim: number): Float64Array {
  const rows = values.length / dim;
  const mean = new Float64Array(dim);
  for (let i = 0; i < values.length; i++) mean[i % dim] += values[i]! / rows;
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i]! - mean[i % dim]!;
  return out;
}

/**
 * Row cosines after removing each side's batch mean. Random-weight encoders give every input a large
 * shared component, so the plain cosine stays high even when the input-dependent part is wrong; the
 * centred cosine sees only that part. Needs at least two rows.
 */
export function centredRowCosines(a: ArrayLike<number>, b: ArrayLike<number>, dim: number): number[] | null {
  if (a.length / dim < 2) return null;
  return rowCosines(centred(a, dim), centred(b, dim), dim);
}

/** Largest cosine between two different rows of one output: how alike the inputs look to the model. */
export function maxPairwiseCosine(values: ArrayLike<number>, dim: number): number | null {
  const rows = values.length / dim;
  if (rows < 2) return null;
  const norms: number[] = [];
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let i = r * dim; i < (r + 1) * dim; i++) sum += values[i]! * values[i]!;
    norms.push(Math.sqrt(sum));
  }
  let max = -1;
  for (let r = 0; r < rows; r++) {
    for (let s = r + 1; s < rows; s++) {
      let dot = 0;
      for (let i = 0; i < dim; i++) dot += values[r * dim + i]! * values[s * dim + i]!;
      max = Math.max(max, dot / (norms[r]! * norms[s]!));
    }
  }
  return max;
}
