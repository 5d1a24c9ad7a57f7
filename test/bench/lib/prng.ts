/**
 * Seeded, splittable pseudo-random numbers: every (seed, stream, index) triple has its own
 * generator, so item i of a data set can be regenerated without generating items 0..i-1, and
 * data can be produced chunk by chunk, in any order, by several threads, with identical results.
 */

/** 32-bit avalanche mix (murmur3's finaliser) of several integers. */
export function hash32(...values: number[]): number {
  let h = 0x9e3779b9;
  for (const value of values) {
    h = Math.imul(h ^ (value >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    h = (h + 0x6a09e667) | 0;
  }
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h >>> 0;
}

/** Chris Doty-Humphrey's SFC32: small, fast, passes PractRand at this scale. */
export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d = 1;
  private spare = Number.NaN;

  constructor(seed: number, stream = 0, index = 0) {
    this.a = hash32(seed, stream, index, 1);
    this.b = hash32(seed, stream, index, 2);
    this.c = hash32(seed, stream, index, 3);
    for (let i = 0; i < 12; i++) this.uint32();
  }

  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1) with 32 random bits. */
  float(): number {
    return this.uint32() / 4294967296;
  }

  /** Uniform integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min + 1));
  }

  /** Standard normal (Box–Muller; the second value of each pair is kept for the next call). */
  gaussian(): number {
    if (!Number.isNaN(this.spare)) {
      const value = this.spare;
      this.spare = Number.NaN;
      return value;
    }
    const u = 1 - this.float(); // (0, 1]: log stays finite
    const r = Math.sqrt(-2 * Math.log(u));
    const theta = 2 * Math.PI * this.float();
    this.spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /** Fisher–Yates shuffle in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.float() * (i + 1));
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }
}
