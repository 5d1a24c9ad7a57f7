import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * The service's one structured logger: JSON lines (stderr by default) with `service: "inference"`.
 * Request handlers log through `logger.child({ requestId })` so one id follows a request through every line.
 * Lines are written asynchronously (see the store's createLogger for why and what that risks).
 */
export function createLogger(level: string, destination: DestinationStream = pino.destination({ dest: 2, sync: false })): Logger {
  return pino(
    {
      level,
      base: { service: 'inference' },
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: { err: pino.stdSerializers.err },
    },
    destination,
  );
}
