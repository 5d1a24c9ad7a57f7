/**
 * Keeps the weight buffers of one finished classify() call for the next. A batch of 32 images over 1 M species
 * writes 128 MB of float32 weights; fresh buffers cost ≈ 5 ms per image in page faults and zeroing on the benchmark
 * machine (the screening kernel overwrites every entry, so reused ones need no clearing). Like ClassifyScratchPool,
 * one idle set is kept, the larger one when two calls finish; concurrent calls beyond it allocate afresh.
 */
export class WeightBufferPool {
  private idle = new Map<number, Float32Array[]>();
  private idleBytes = 0;

  /** A buffer of exactly `length` floats, from the idle set when it holds one (contents undefined). */
  take(length: number): Float32Array {
    const reused = this.idle.get(length)?.pop();
    if (!reused) return new Float32Array(length);
    this.idleBytes -= reused.byteLength;
    return reused;
  }

  /** Offers one call's buffers as the idle set; kept if they outweigh the current idle set. */
  giveBack(buffers: readonly Float32Array[]): void {
    const bytes = buffers.reduce((sum, b) => sum + b.byteLength, 0);
    if (bytes < this.idleBytes) return;
    const idle = new Map<number, Float32Array[]>();
    for (const b of buffers) {
      const list = idle.get(b.length);
      if (list) list.push(b);
      else idle.set(b.length, [b]);
    }
    this.idle = idle;
    this.idleBytes = bytes;
  }
}
