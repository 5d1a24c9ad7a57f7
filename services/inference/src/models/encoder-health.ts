import type { ReadinessStatus } from '../client.ts';
import type { Logger } from '../logger.ts';
import { WorkerSession } from '../sessions/worker-session.ts';
import type { EncoderRole } from './manifest.schema.ts';

export interface EncoderTrouble {
  /** `loading` while a dead worker's session is re-created, `failed` if re-creating it failed. */
  status: Extract<ReadinessStatus, 'loading' | 'failed'>;
  /** Which encoder and why. */
  error: string;
}

/**
 * Watches the encoders whose sessions run on worker threads, for readiness: while a dead worker's
 * session is being re-created, or after that failed, the host is not ready. Logs every change.
 */
export class EncoderHealth {
  readonly #logger: Logger;
  readonly #onChange: () => void;
  readonly #watched: { role: EncoderRole; session: WorkerSession }[] = [];

  constructor(logger: Logger, onChange: () => void) {
    this.#logger = logger;
    this.#onChange = onChange;
  }

  /** Watches `session` if it is a WorkerSession (a test's session factory may return another kind). */
  watch(role: EncoderRole, session: unknown): void {
    if (!(session instanceof WorkerSession)) return;
    this.#watched.push({ role, session });
    session.onStateChange((state, error) => {
      if (state === 'restarting') this.#logger.error({ encoder: role, err: error }, `${role}: the session's worker thread died; re-creating the session`);
      else if (state === 'failed') this.#logger.error({ encoder: role, err: error }, `${role}: re-creating the session failed; the next batch tries again`);
      else if (state === 'ready') this.#logger.info({ encoder: role }, `${role}: session re-created`);
      this.#onChange();
    });
  }

  /** The first encoder that cannot run now, or undefined when all can. */
  trouble(): EncoderTrouble | undefined {
    for (const { role, session } of this.#watched) {
      if (session.state === 'restarting' || session.state === 'failed') {
        return { status: session.state === 'failed' ? 'failed' : 'loading', error: `${role}: ${session.failure?.message ?? session.state}` };
      }
    }
    return undefined;
  }
}
