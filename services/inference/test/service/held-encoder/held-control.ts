// The state a test shares with its held encoder workers: one SharedArrayBuffer, read and written with
// Atomics, so a worker blocked in Atomics.wait (no event loop) still sees the test's decisions, and a
// re-created worker (started by WorkerSession, not by the test) reads the same buffer.

/** What a worker does when it is about to create its session. */
export const CREATION_MODES = ['proceed', 'hold', 'fail'] as const;
export type CreationMode = (typeof CREATION_MODES)[number];

/** What a worker does with a run it has entered: `hold` keeps its thread blocked inside `run`. */
export const RUN_MODES = ['hold', 'run', 'fail', 'crash'] as const;
export type RunMode = (typeof RUN_MODES)[number];

const CREATION = 0;
const RUN = 1;
const RUNS_STARTED = 2;
const SESSIONS_CREATED = 3;
const SLOTS = 4;

const HOLD_CREATION = CREATION_MODES.indexOf('hold');
const HOLD_RUN = RUN_MODES.indexOf('hold');

// Atomics.waitAsync (Node ≥ 16) is declared in the ES2024 library; the project compiles against ES2023.
type WaitAsync = (array: Int32Array, index: number, value: number) => { async: boolean; value: Promise<string> | string };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

export class HeldControl {
  readonly buffer: SharedArrayBuffer;
  readonly #slots: Int32Array;

  /** A new control (test side): sessions are created at once; runs are held until the test lets them go. */
  static create(): HeldControl {
    return new HeldControl(new SharedArrayBuffer(SLOTS * Int32Array.BYTES_PER_ELEMENT));
  }

  /** The control whose `buffer` a worker received (worker side). */
  static attach(buffer: unknown): HeldControl {
    if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength !== SLOTS * Int32Array.BYTES_PER_ELEMENT) {
      throw new TypeError(`a held encoder worker needs the SharedArrayBuffer of a HeldControl as workerData.entryData, got ${String(buffer)}`);
    }
    return new HeldControl(buffer);
  }

  private constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.#slots = new Int32Array(buffer);
  }

  // Test side.

  setCreation(mode: CreationMode): void {
    this.#set(CREATION, CREATION_MODES.indexOf(mode));
  }

  setRun(mode: RunMode): void {
    this.#set(RUN, RUN_MODES.indexOf(mode));
  }

  get runsStarted(): number {
    return Atomics.load(this.#slots, RUNS_STARTED);
  }

  get sessionsCreated(): number {
    return Atomics.load(this.#slots, SESSIONS_CREATED);
  }

  /** Resolves once `count` runs have started (woken by the worker, no polling). */
  async runsReached(count: number): Promise<void> {
    for (;;) {
      const seen = this.runsStarted;
      if (seen >= count) return;
      await waitAsync(this.#slots, RUNS_STARTED, seen).value;
    }
  }

  // Worker side: these block the calling thread while the mode is `hold`.

  creationMode(): CreationMode {
    return CREATION_MODES[this.#whileHeld(CREATION, HOLD_CREATION)];
  }

  /** Counts the run as started, then waits for the test's decision. */
  enterRun(): RunMode {
    Atomics.add(this.#slots, RUNS_STARTED, 1);
    Atomics.notify(this.#slots, RUNS_STARTED);
    return RUN_MODES[this.#whileHeld(RUN, HOLD_RUN)];
  }

  countSessionCreated(): void {
    Atomics.add(this.#slots, SESSIONS_CREATED, 1);
  }

  #set(slot: number, code: number): void {
    Atomics.store(this.#slots, slot, code);
    Atomics.notify(this.#slots, slot);
  }

  #whileHeld(slot: number, hold: number): number {
    for (;;) {
      const code = Atomics.load(this.#slots, slot);
      if (code !== hold) return code;
      Atomics.wait(this.#slots, slot, hold);
    }
  }
}
