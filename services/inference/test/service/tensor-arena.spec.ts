// The shared tensor arena behind the preprocessing pool: slots are reused, released at most once, and
// the arena grows rather than refuse (and shrinks back when idle).
import { describe, expect, it } from 'vitest';

import { TensorArena } from '../../src/models/tensor-arena.ts';

describe('TensorArena', () => {
  it('hands out distinct slots of slotLength floats in shared memory and reuses the last released first', () => {
    const arena = new TensorArena({ slotLength: 6, chunkSlots: 3 });
    const [a, b, c] = [arena.acquire(), arena.acquire(), arena.acquire()];
    expect(arena.capacity).toBe(3);
    expect(arena.freeSlots).toBe(0);
    expect(a.data.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(new Set([a.data.byteOffset, b.data.byteOffset, c.data.byteOffset]).size).toBe(3);
    for (const slot of [a, b, c]) expect(slot.data.length).toBe(6);

    b.data.fill(7);
    b.release();
    const again = arena.acquire();
    expect(again.data.byteOffset).toBe(b.data.byteOffset);
    expect(again.data.buffer).toBe(b.data.buffer);
    expect(arena.slotsInUse).toBe(3);
  });

  it('counts a slot released twice once', () => {
    const arena = new TensorArena({ slotLength: 4, chunkSlots: 2 });
    const a = arena.acquire();
    arena.acquire();
    a.release();
    a.release();
    expect(arena.freeSlots).toBe(1);
    // The second acquire must not get a slot that is still held.
    const [x, y] = [arena.acquire(), arena.acquire()];
    expect(x.data.byteOffset === y.data.byteOffset && x.data.buffer === y.data.buffer).toBe(false);
  });

  it('grows by a chunk when every slot is held and drops the extra chunks once nothing is held', () => {
    const arena = new TensorArena({ slotLength: 4, chunkSlots: 2 });
    const held = Array.from({ length: 5 }, () => arena.acquire());
    expect(arena.capacity).toBe(6);
    expect(arena.slotsInUse).toBe(5);
    const buffers = new Set(held.map((slot) => slot.data.buffer));
    expect(buffers.size).toBe(3);

    held.slice(1).forEach((slot) => slot.release());
    expect(arena.capacity).toBe(6); // still one held: nothing is dropped
    held[0]!.release();
    expect(arena.capacity).toBe(2);
    expect(arena.freeSlots).toBe(2);
    // A stale release after the shrink changes nothing.
    held[4]!.release();
    expect(arena.freeSlots).toBe(2);
    const [a, b] = [arena.acquire(), arena.acquire()];
    expect(a.data.buffer).toBe(held[0]!.data.buffer);
    expect(b.data.buffer).toBe(held[0]!.data.buffer);
    expect(arena.capacity).toBe(2);
  });

  it('refuses sizes that are not positive integers', () => {
    expect(() => new TensorArena({ slotLength: 0, chunkSlots: 1 })).toThrow(RangeError);
    expect(() => new TensorArena({ slotLength: 4, chunkSlots: 1.5 })).toThrow(RangeError);
  });
});
