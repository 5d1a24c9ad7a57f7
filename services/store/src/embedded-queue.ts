import type { PGLiteSocketServer } from "@electric-sql/pglite-socket";

// Front-end message types of the extended query protocol that must reach the backend without
// another client's messages in between: Parse, Bind, Describe, Execute, Close, Flush. The sequence
// ends at Sync ('S').
const EXTENDED_QUERY_MESSAGES = new Set(["P", "B", "D", "E", "C", "H"].map((c) => c.charCodeAt(0)));

interface QueuedMessage {
  handlerId: number;
  message: Uint8Array;
  onData: (data: Uint8Array) => void;
  resolve: (bytes: number) => void;
  reject: (error: unknown) => void;
}

interface QueryQueue {
  queue: QueuedMessage[];
  processing: boolean;
  lastHandlerId: number | null;
  db: { isInTransaction(): boolean; runExclusive<T>(fn: () => Promise<T>): Promise<T>; execProtocolRawStream(m: Uint8Array, o: { onRawData: (d: Uint8Array) => void }): Promise<unknown> };
  processQueue(): Promise<void>;
  clearQueueForHandler(handlerId: number): void;
}

/**
 * pglite-socket 0.2.17 queues each protocol message on its own, so with several connections the
 * Parse of one client can land between another client's Parse and Bind ("bind message supplies 4
 * parameters, but prepared statement requires 1"): PGlite has a single backend and one unnamed
 * statement. This replaces its queue's scheduler so that a client's extended-query sequence, up to
 * its Sync, runs without interleaving (as does a whole transaction, like the original). Pinned to
 * the exact pglite-socket version; test/embedded-concurrency proves it.
 */
export function serialiseExtendedQueries(server: PGLiteSocketServer): void {
  const queue = (server as unknown as { queryQueue: QueryQueue }).queryQueue;
  if (!queue || typeof queue.processQueue !== "function" || !Array.isArray(queue.queue)) {
    throw new Error("pglite-socket internals changed: re-check serialiseExtendedQueries against the new version");
  }
  let midSequence: number | null = null;

  queue.processQueue = async function processQueue(this: QueryQueue) {
    if (this.processing || this.queue.length === 0) return;
    this.processing = true;
    try {
      while (this.queue.length > 0) {
        const owner = this.db.isInTransaction() && this.lastHandlerId !== null ? this.lastHandlerId : midSequence;
        let item: QueuedMessage | undefined;
        if (owner !== null) {
          const index = this.queue.findIndex((queued) => queued.handlerId === owner);
          if (index === -1) break; // wait for the owner's next message
          item = this.queue.splice(index, 1)[0];
        } else {
          item = this.queue.shift();
        }
        if (!item) break;
        let bytes = 0;
        try {
          await this.db.runExclusive(() =>
            this.db.execProtocolRawStream(item!.message, {
              onRawData: (data) => {
                bytes += data.length;
                item!.onData(data);
              },
            }),
          );
        } catch (error) {
          midSequence = null;
          item.reject(error);
          continue;
        }
        this.lastHandlerId = item.handlerId;
        midSequence = EXTENDED_QUERY_MESSAGES.has(item.message[0]!) ? item.handlerId : null;
        item.resolve(bytes);
      }
    } finally {
      this.processing = false;
    }
  };

  const clear = queue.clearQueueForHandler.bind(queue);
  queue.clearQueueForHandler = (handlerId: number) => {
    clear(handlerId);
    // A client that left mid-sequence must not hold the backend for the others.
    if (midSequence === handlerId) {
      midSequence = null;
      void queue.processQueue();
    }
  };
}
