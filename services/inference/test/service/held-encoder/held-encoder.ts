import path from 'node:path';

import type { EncoderRole } from '../../../src/models/manifest.schema.ts';
import type { SessionFactory } from '../../../src/sessions/create-session.ts';
import { WorkerSession } from '../../../src/sessions/worker-session.ts';
import { HeldControl, type CreationMode, type RunMode } from './held-control.ts';

const HELD_WORKER_ENTRY = new URL('./held-encoder.worker.ts', import.meta.url);

/**
 * A session factory for ModelHost (`sessions.factory`) whose encoder of `role` runs the real committed
 * session on its own worker thread (held-encoder.worker.ts), where the test decides when each run goes
 * on and whether it fails or crashes the thread, and whether (re-)creating the session waits or fails.
 * Every run of that encoder starts held (its thread blocked inside `run`) until `runs()` says otherwise;
 * sessions are created at once until `creations()` says otherwise. The other encoder gets the product's
 * WorkerSession unchanged. Decisions stay in force for later runs and for re-created workers.
 */
export class HeldEncoder {
  readonly #control = HeldControl.create();
  readonly #sessions: WorkerSession[] = [];

  constructor(readonly role: EncoderRole) {}

  factory(): SessionFactory {
    return async (modelPath, options) => {
      const isHeld = path.basename(modelPath).startsWith(this.role);
      const session = await WorkerSession.open(modelPath, options, isHeld ? { entry: HELD_WORKER_ENTRY, entryData: this.#control.buffer } : {});
      this.#sessions.push(session);
      return session;
    };
  }

  /** How the held encoder's workers create their session from now on (re-creations included). */
  creations(mode: CreationMode): void {
    this.#control.setCreation(mode);
  }

  /** What the held encoder's runs do from now on, the run already waiting inside `run` included. */
  runs(mode: RunMode): void {
    this.#control.setRun(mode);
  }

  /** Resolves once `count` runs of the held encoder have entered `run` (counted on its thread). */
  started(count: number): Promise<void> {
    return this.#control.runsReached(count);
  }

  get runsStarted(): number {
    return this.#control.runsStarted;
  }

  /** Sessions of the held encoder created in its workers: the first one plus every re-creation. */
  get sessionsCreated(): number {
    return this.#control.sessionsCreated;
  }

  /** Every session this factory opened, both encoders, in order of creation. */
  get sessions(): readonly WorkerSession[] {
    return this.#sessions;
  }
}
