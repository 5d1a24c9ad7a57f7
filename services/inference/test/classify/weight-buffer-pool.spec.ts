import { describe, expect, it } from 'vitest';

import { WeightBufferPool } from '../../src/classify/scorers/weight-buffer-pool.ts';

describe('WeightBufferPool', () => {
  it('hands back given buffers by exact length, then allocates', () => {
    const pool = new WeightBufferPool();
    const a = new Float32Array(8), b = new Float32Array(8), c = new Float32Array(3);
    pool.giveBack([a, b, c]);
    const taken = [pool.take(8), pool.take(8)];
    expect(taken).toContain(a);
    expect(taken).toContain(b);
    expect(pool.take(3)).toBe(c);
    const fresh = pool.take(8);
    expect(fresh).not.toBe(a);
    expect(fresh).not.toBe(b);
    expect(pool.take(5).length).toBe(5);
  });

  it('keeps one idle set: the larger of two, and a smaller one once the idle set has been taken', () => {
    const pool = new WeightBufferPool();
    const large = new Float32Array(100), small = new Float32Array(10);
    pool.giveBack([large]);
    pool.giveBack([small]);
    expect(pool.take(10)).not.toBe(small);
    expect(pool.take(100)).toBe(large);
    pool.giveBack([small]);
    expect(pool.take(10)).toBe(small);
  });
});
