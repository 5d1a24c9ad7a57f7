// How close an ONNX Runtime embedding is to the PyTorch reference.

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i += 1) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb);
}

/** ||actual - expected|| / ||expected||. */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < expected.length; i += 1) {
    diff += (actual[i] - expected[i]) ** 2;
    norm += expected[i] ** 2;
  }
  return Math.sqrt(diff / norm);
}

function centred(rows: ArrayLike<number>[]): number[][] {
  const dim = rows[0].length;
  const mean = new Array<number>(dim).fill(0);
  for (const row of rows) for (let i = 0; i < dim; i += 1) mean[i] += row[i] / rows.length;
  return rows.map((row) => Array.from({ length: dim }, (_, i) => row[i] - mean[i]));
}

/**
 * Cosine of each row after removing the batch mean on both sides. Random-weight encoders give
 * every input a large shared component (class and position embeddings), so a plain cosine can
 * stay high even for the wrong input; the centred one only sees what depends on the input.
 */
export function centredCosines(actual: ArrayLike<number>[], expected: ArrayLike<number>[]): number[] {
  const a = centred(actual);
  const e = centred(expected);
  return a.map((row, i) => cosine(row, e[i]));
}

/** Largest cosine between two different rows: below the parity threshold means inputs are told apart. */
export function maxPairwiseCosine(rows: ArrayLike<number>[]): number {
  let max = -1;
  for (let i = 0; i < rows.length; i += 1) {
    for (let j = i + 1; j < rows.length; j += 1) max = Math.max(max, cosine(rows[i], rows[j]));
  }
  return max;
}
