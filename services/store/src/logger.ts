import { pino, type Logger } from "pino";

export type { Logger };

/**
 * The one structured logger: JSON lines on stderr, level from LOG_LEVEL. Written asynchronously: with
 * a write(2) per line on the event loop, one line per request took a quarter of the inference service's
 * main thread at 200+ requests/s. pino flushes what is buffered when the process exits (also after an
 * uncaught exception); only a SIGKILL can lose the last lines.
 */
export function createLogger(name: string, level = process.env.LOG_LEVEL ?? "info"): Logger {
  return pino({ name, level, base: { service: name } }, pino.destination({ dest: 2, sync: false }));
}
