import { pino, type DestinationStream, type Logger } from "pino";

export type { Logger };

/**
 * The worker's one structured logger: JSON lines on stderr with `service: "training"`. A job's lines
 * come from `logger.child({ jobId, job, attempt, requestId })`, so one id follows a job through every line.
 */
export function createLogger(level: string, destination: DestinationStream = pino.destination(2)): Logger {
  return pino(
    {
      level,
      base: { service: "training" },
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: { err: pino.stdSerializers.err },
    },
    destination,
  );
}
