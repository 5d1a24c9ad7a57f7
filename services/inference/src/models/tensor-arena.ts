/** One image tensor's place in a TensorArena, held from preprocessing until its batch has copied it. */
export interface TensorSlot {
  /** The tensor, in shared memory: a preprocessing worker writes it, the main thread reads it. */
  readonly data: Float32Array<SharedArrayBuffer>;
  /** Gives the slot back; later calls do nothing, so every path that may own the slot can call it. */
  release(): void;
}

export interface TensorArenaOptions {
  /** Floats per slot (3 × size × size for an image tensor). */
  slotLength: number;
  /** Slots per SharedArrayBuffer; the arena grows by one such chunk when every slot is held. */
  chunkSlots: number;
}

/**
 * Fixed-size float32 slots in SharedArrayBuffers, reused from tensor to tensor. Preprocessed images
 * used to arrive on the main thread as one fresh 600 KB ArrayBuffer each, which V8 counts as external
 * memory and collects often; a shared slot is written by the worker in place and costs the main thread
 * no allocation (V8 does not count shared buffers against a thread's external memory).
 *
 * The arena never refuses: when every slot is held it adds a chunk (holders waiting on each other,
 * e.g. the first images of a request waiting for its last, must never wait on a free slot). It drops
 * the chunks beyond the first whenever nothing is held, so a burst's memory does not stay.
 */
export class TensorArena {
  readonly slotLength: number;
  readonly chunkSlots: number;
  /** Every slot's view, by slot number. */
  #views: Float32Array<SharedArrayBuffer>[] = [];
  /** Free slot numbers; the most recently released is reused first (still in cache). */
  #free: number[] = [];

  constructor(options: TensorArenaOptions) {
    for (const key of ['slotLength', 'chunkSlots'] as const) {
      if (!Number.isInteger(options[key]) || options[key] < 1) throw new RangeError(`${key} must be a positive integer`);
    }
    this.slotLength = options.slotLength;
    this.chunkSlots = options.chunkSlots;
  }

  /** Slots in the arena's buffers. */
  get capacity(): number {
    return this.#views.length;
  }

  get freeSlots(): number {
    return this.#free.length;
  }

  get slotsInUse(): number {
    return this.#views.length - this.#free.length;
  }

  acquire(): TensorSlot {
    if (this.#free.length === 0) this.#grow();
    const index = this.#free.pop()!;
    const data = this.#views[index]!;
    let released = false;
    return {
      data,
      release: () => {
        if (released) return;
        released = true;
        this.#free.push(index);
        if (this.#free.length === this.#views.length) this.#shrinkToOneChunk();
      },
    };
  }

  #grow(): void {
    const buffer = new SharedArrayBuffer(this.chunkSlots * this.slotLength * Float32Array.BYTES_PER_ELEMENT);
    const first = this.#views.length;
    for (let i = 0; i < this.chunkSlots; i++) {
      this.#views.push(new Float32Array(buffer, i * this.slotLength * Float32Array.BYTES_PER_ELEMENT, this.slotLength));
      this.#free.push(first + this.chunkSlots - 1 - i); // pop() hands out the lowest number first
    }
  }

  #shrinkToOneChunk(): void {
    if (this.#views.length <= this.chunkSlots) return;
    this.#views.length = this.chunkSlots;
    this.#free = this.#free.filter((index) => index < this.chunkSlots);
  }
}
