import { endianness } from 'node:os';

/**
 * Buckets for positive weights by the top 16 bits of their float64 encoding (sign, 11 exponent bits, 4 mantissa
 * bits): 16 buckets per octave, ln(2)/16 ≈ 0.043 logit units wide, over the whole float64 range. Monotone (a larger
 * weight never lands in a lower bucket) and cheap: no logarithm. The engine histograms genus mean weights with them
 * to choose its float64 floor.
 */
export const BUCKETS_PER_OCTAVE = 16;
/** Buckets of finite positive doubles (exponent field 0 … 2046). */
export const BUCKET_COUNT = 2047 * BUCKETS_PER_OCTAVE;

const scratch = new Float64Array(1);
const words = new Uint32Array(scratch.buffer);
const HIGH = endianness() === 'LE' ? 1 : 0;
const LOW = 1 - HIGH;

/** Bucket of a positive, finite float64 weight. */
export function bucketOf(weight: number): number {
  scratch[0] = weight;
  return Math.min(words[HIGH] >>> 16, BUCKET_COUNT - 1);
}

/** Smallest weight in a bucket: every weight in bucket b is ≥ bucketFloor(b) and < bucketFloor(b + 1). */
export function bucketFloor(bucket: number): number {
  if (bucket >= BUCKET_COUNT) return Infinity;
  if (bucket <= 0) return 0;
  words[HIGH] = bucket << 16;
  words[LOW] = 0;
  return scratch[0];
}

/** The k-th largest value (1-based) of `values`, which it reorders (Hoare quickselect). */
export function kthLargest(values: Float64Array, k: number): number {
  let lo = 0;
  let hi = values.length - 1;
  const target = k - 1;
  while (lo < hi) {
    const pivot = values[(lo + hi) >>> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (values[i] > pivot) i++;
      while (values[j] < pivot) j--;
      if (i <= j) {
        const t = values[i];
        values[i] = values[j];
        values[j] = t;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return values[target];
  }
  return values[target];
}
