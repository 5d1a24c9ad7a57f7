// Typed HTTP errors: what route handlers throw for bad input, and how any thrown error becomes the answer.
import type { ServerResponse } from 'node:http';

import { QueueFullError, ShuttingDownError } from './batching/errors.ts';
import type { ErrorResponse, ServiceErrorCode } from './client.ts';
import type { Logger } from './logger.ts';
import { ModelNotReadyError, ModelUnavailableError } from './models/errors.ts';
import { ImagePreprocessError } from './preprocess/index.ts';
import { TokenizerError } from './tokenizer/index.ts';

const SHUTDOWN_RETRY_AFTER_S = 1;

/** An error with its HTTP answer; route handlers throw it for bad input. */
export class HttpError extends Error {
  override readonly name = 'HttpError';

  constructor(
    readonly status: number,
    readonly code: ServiceErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** Any thrown error as the HTTP answer the client sees. */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof ImagePreprocessError) {
    return new HttpError(error.code === 'IMAGE_TOO_LARGE' ? 413 : 400, error.code, error.message, { index: error.index });
  }
  if (error instanceof TokenizerError) return new HttpError(400, 'INVALID_REQUEST', error.message);
  if (error instanceof QueueFullError) {
    return new HttpError(429, 'QUEUE_FULL', error.message, { queue: error.queue, capacity: error.capacity }, error.retryAfterSeconds);
  }
  if (error instanceof ModelNotReadyError) return new HttpError(503, 'MODEL_NOT_READY', error.message, { state: error.state }, error.retryAfterSeconds);
  if (error instanceof ModelUnavailableError) return new HttpError(503, 'MODEL_UNAVAILABLE', error.message, undefined, error.retryAfterSeconds);
  if (error instanceof ShuttingDownError) return new HttpError(503, 'SHUTTING_DOWN', 'the service is shutting down', undefined, SHUTDOWN_RETRY_AFTER_S);
  // body-parser errors carry `type` and `status`.
  const parserError = error as { type?: string; status?: number; message?: string };
  switch (parserError?.type) {
    case 'entity.too.large':
      return new HttpError(413, 'BODY_TOO_LARGE', `the body exceeds ${String((error as { limit?: number }).limit)} bytes`);
    case 'entity.parse.failed':
      return new HttpError(400, 'INVALID_JSON', `the body is not valid JSON: ${parserError.message}`);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', parserError.message ?? 'unsupported encoding');
  }
  if (typeof parserError?.status === 'number' && parserError.status >= 400 && parserError.status < 500) {
    return new HttpError(400, 'INVALID_REQUEST', parserError.message ?? 'bad request');
  }
  return new HttpError(500, 'INTERNAL', 'internal error');
}

/** The error as its status and a JSON ErrorResponse body, with Retry-After when it has one. */
export function sendError(res: ServerResponse, error: HttpError): void {
  if (error.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(error.retryAfterSeconds));
  const body: ErrorResponse = { error: { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) } };
  const text = JSON.stringify(body);
  res.statusCode = error.status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

/** Answers a request that failed: the typed error to the client, an unexpected one also to the log with its stack. */
export function failRequest(res: ServerResponse, log: Logger, error: unknown): void {
  const httpError = toHttpError(error);
  if (httpError.status >= 500 && httpError.code === 'INTERNAL') log.error({ err: error }, 'request failed');
  else log.info({ code: httpError.code, status: httpError.status }, httpError.message);
  if (res.headersSent) return void res.end();
  sendError(res, httpError);
}
