import { pino, type Logger } from "pino";

export type { Logger };

/** The one structured logger: JSON lines on stderr, level from LOG_LEVEL. */
export function createLogger(name: string, level = process.env.LOG_LEVEL ?? "info"): Logger {
  return pino({ name, level, base: { service: name } }, pino.destination(2));
}
