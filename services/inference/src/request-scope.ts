import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

import type { Logger } from './logger.ts';
import type { InferenceMetrics } from './metrics.ts';

/** The server's shutdown state, shared by the express app and the fast path. */
export interface Lifecycle {
  draining: boolean;
  /** Responses not yet finished; told to close their connection when draining starts. */
  inFlight: Set<ServerResponse>;
}

/** What every request carries from arrival to its log line. */
export interface RequestScope {
  readonly requestId: string;
  /** The service logger bound to this request's id, made on first use. */
  readonly log: Logger;
  /** Route pattern for metrics; requests refused before reaching a route keep 'unrouted'. */
  route: string;
}

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Starts a request's bookkeeping: its id (the caller's X-Request-Id when usable, echoed), the in-flight set that
 * graceful shutdown drains, and, when the response finishes, the latency histogram and one 'request finished' line.
 */
export function openRequestScope(
  req: IncomingMessage,
  res: ServerResponse,
  { logger, metrics }: { logger: Logger; metrics: InferenceMetrics },
  lifecycle: Lifecycle,
): RequestScope {
  const header = req.headers['x-request-id'];
  const requestId = typeof header === 'string' && REQUEST_ID_PATTERN.test(header) ? header : randomUUID();
  let log: Logger | undefined;
  const scope: RequestScope = {
    requestId,
    // A pino child costs a bindings serialisation; most requests log only their finish line, which needs none.
    get log() {
      return (log ??= logger.child({ requestId }));
    },
    route: 'unrouted',
  };
  res.setHeader('X-Request-Id', requestId);
  // Read now: express rewrites req.url inside mounted routers.
  const path = req.url?.split('?')[0];
  const startedAt = performance.now();
  res.on('finish', () => {
    const seconds = (performance.now() - startedAt) / 1000;
    metrics.httpRequestDuration.observe({ method: req.method, route: scope.route, status: String(res.statusCode) }, seconds);
    logger.info(
      { requestId, method: req.method, path, status: res.statusCode, durationMs: Math.round(seconds * 1000) },
      'request finished',
    );
    // A kept-alive connection would otherwise hold server.close() open until its idle timeout.
    // end(), not destroy(): the response may still sit in the socket's write buffer.
    if (lifecycle.draining) res.socket?.end();
  });
  lifecycle.inFlight.add(res);
  res.on('close', () => lifecycle.inFlight.delete(res));
  return scope;
}
