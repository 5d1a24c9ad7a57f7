import { ClassifyError } from './errors.ts';

/** Checks length and finiteness; returns the float64 Euclidean norm. */
export function checkedNorm(v: ArrayLike<number>, dim: number, where: string): number {
  if (v.length !== dim) throw new ClassifyError('DIMENSION_MISMATCH', `${where}: length ${v.length}, expected ${dim}`);
  let s = 0;
  for (let i = 0; i < dim; i++) {
    const x = v[i];
    if (!Number.isFinite(x)) throw new ClassifyError('NON_FINITE', `${where}: component ${i} is ${x}`);
    s += x * x;
  }
  return Math.sqrt(s);
}

/** v / ‖v‖ computed in float64 (the precision every reference comparison is made in). */
export function unitFloat64(v: ArrayLike<number>, dim: number, where: string): Float64Array {
  const norm = checkedNorm(v, dim, where);
  if (norm === 0) throw new ClassifyError('ZERO_VECTOR', `${where}: the embedding is all zeros`);
  const out = new Float64Array(dim);
  for (let i = 0; i < dim; i++) out[i] = v[i] / norm;
  return out;
}

/** Σ a[aOffset + k] · x[k] in float64. Products of float32 values are exact in float64, so only the sum rounds. */
export function dotFloat64(a: Float32Array, aOffset: number, x: Float64Array, dim: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let s4 = 0;
  let s5 = 0;
  let s6 = 0;
  let s7 = 0;
  let k = 0;
  for (; k + 7 < dim; k += 8) {
    const o = aOffset + k;
    s0 += a[o] * x[k];
    s1 += a[o + 1] * x[k + 1];
    s2 += a[o + 2] * x[k + 2];
    s3 += a[o + 3] * x[k + 3];
    s4 += a[o + 4] * x[k + 4];
    s5 += a[o + 5] * x[k + 5];
    s6 += a[o + 6] * x[k + 6];
    s7 += a[o + 7] * x[k + 7];
  }
  for (; k < dim; k++) s0 += a[aOffset + k] * x[k];
  return s0 + s1 + (s2 + s3) + (s4 + s5 + (s6 + s7));
}
