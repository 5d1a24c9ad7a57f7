// A session thread copies feeds in shared memory (which onnxruntime-node refuses) into its own buffers.
import { describe, expect, it } from 'vitest';

import { SharedInputStaging } from '../../src/sessions/shared-input-staging.ts';

describe('SharedInputStaging', () => {
  it('passes plain feeds through and copies shared ones into a per-input buffer reused from run to run', () => {
    const staging = new SharedInputStaging();
    const plain = new Float32Array([1, 2, 3]);
    expect(staging.stage('pixels', plain)).toBe(plain);

    const shared = new Float32Array(new SharedArrayBuffer(4 * 4), 4, 3);
    shared.set([4, 5, 6]);
    const first = staging.stage('pixels', shared) as Float32Array;
    expect(first.buffer).toBeInstanceOf(ArrayBuffer);
    expect(first.byteOffset).toBe(0);
    expect([...first]).toEqual([4, 5, 6]);

    const smaller = new Float32Array(new SharedArrayBuffer(2 * 4));
    smaller.set([7, 8]);
    const second = staging.stage('pixels', smaller) as Float32Array;
    expect(second.buffer).toBe(first.buffer);
    expect([...second]).toEqual([7, 8]);

    const ids = new BigInt64Array(new SharedArrayBuffer(8 * 5)).fill(9n);
    const larger = staging.stage('ids', ids) as BigInt64Array;
    expect(larger).toBeInstanceOf(BigInt64Array);
    expect(larger.buffer).not.toBe(first.buffer);
    expect([...larger]).toEqual([9n, 9n, 9n, 9n, 9n]);
  });
});
