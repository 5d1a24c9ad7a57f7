import http from 'node:http';
import type { AddressInfo } from 'node:net';

import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';

import { ShuttingDownError } from './batching/errors.ts';
import { prefersBinaryEmbeddings, RAW_IMAGE_TYPES, sendBinaryEmbeddings, sendsRawImage } from './binary-transport.ts';
import type { EmbeddingsResponse, ModelInfo } from './client.ts';
import type { InferenceConfig } from './config.ts';
import { failRequest, HttpError, sendError, toHttpError } from './http-errors.ts';
import type { Logger } from './logger.ts';
import type { InferenceMetrics } from './metrics.ts';
import type { ModelHost } from './models/model-host.ts';
import { rawImageFastPath } from './raw-image-fast-path.ts';
import { openRequestScope, type Lifecycle, type RequestScope } from './request-scope.ts';
import type { StoredImages } from './stored-images/stored-images.ts';

declare global {
  namespace Express {
    interface Locals {
      /** The request's id, logger and route label (request-scope.ts). */
      scope: RequestScope;
    }
  }
}

/** What route handlers may use. */
export interface ServiceContext {
  config: InferenceConfig;
  logger: Logger;
  metrics: InferenceMetrics;
  host: ModelHost;
  /** Present when the service has DATABASE_URL: images by stored id. Closed with the server. */
  storedImages?: StoredImages;
}

/** Adds routes under /v1 (e.g. classification, registered by its own module). */
export type RouteRegistrar = (router: Router, context: ServiceContext) => void;

const BASE64_PATTERN = /^[A-Za-z0-9+/]*={0,2}$/;

/** Wraps a handler so the metrics know its route pattern; Express 5 passes rejected promises to the error handler. */
export function route(handler: (req: Request, res: Response) => Promise<void> | void): RequestHandler {
  return async (req, res) => {
    res.locals.scope.route = `${req.baseUrl}${req.route?.path ?? ''}`;
    await handler(req, res);
  };
}

/** The `field` array of a JSON object body, checked for presence and size. */
export function readList(body: unknown, field: string, max: number): unknown[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'INVALID_REQUEST', `the body must be a JSON object {"${field}": [...]}`);
  }
  const list = (body as Record<string, unknown>)[field];
  if (!Array.isArray(list)) throw new HttpError(400, 'INVALID_REQUEST', `"${field}" must be an array`);
  if (list.length === 0) throw new HttpError(400, 'INVALID_REQUEST', `"${field}" is empty`);
  if (list.length > max) {
    throw new HttpError(400, 'TOO_MANY_ITEMS', `"${field}" holds ${list.length} items; at most ${max} per request`, { max });
  }
  return list;
}

export function decodeImages(list: unknown[]): Buffer[] {
  return list.map((item, index) => {
    if (typeof item !== 'string') throw new HttpError(400, 'INVALID_REQUEST', `images[${index}] must be a base64 string`, { index });
    if (!BASE64_PATTERN.test(item) || item.replace(/=+$/, '').length % 4 === 1) {
      throw new HttpError(400, 'INVALID_BASE64', `images[${index}] is not standard base64`, { index });
    }
    return Buffer.from(item, 'base64');
  });
}

/** The images of an embed request: base64 file bytes (`images`) or stored image ids (`imageIds`), exactly one. */
async function requestedImages(body: unknown, { config, storedImages }: ServiceContext, log: Logger): Promise<Buffer[]> {
  const fields = typeof body === 'object' && body !== null ? body : {};
  if (!('imageIds' in fields)) return decodeImages(readList(body, 'images', config.maxImagesPerRequest));
  if ('images' in fields) throw new HttpError(400, 'INVALID_REQUEST', 'give either "images" or "imageIds", not both');
  if (!storedImages) {
    throw new HttpError(501, 'STORED_IMAGES_DISABLED', 'this service has no image database: start it with DATABASE_URL (and IMAGE_DIR) to embed stored images by id');
  }
  return storedImages.read(readList(body, 'imageIds', config.maxImagesPerRequest), config.maxBodyBytes, log);
}

function readTexts(list: unknown[], maxChars: number): string[] {
  return list.map((item, index) => {
    if (typeof item !== 'string') throw new HttpError(400, 'INVALID_REQUEST', `texts[${index}] must be a string`, { index });
    if (item.length > maxChars) {
      throw new HttpError(400, 'TEXT_TOO_LONG', `texts[${index}] has ${item.length} characters; at most ${maxChars}`, { index, max: maxChars });
    }
    return item;
  });
}

/** The one image of a raw-body request (`Content-Type: image/*` or `application/octet-stream`). */
function rawImage(body: unknown): Buffer {
  if (!Buffer.isBuffer(body) || body.length === 0) {
    throw new HttpError(400, 'INVALID_REQUEST', 'the body is empty: send the bytes of one image file');
  }
  return body;
}

export function embeddingsBody(model: ModelInfo, vectors: Float32Array[]): EmbeddingsResponse {
  return { model, normalization: 'l2', dim: vectors[0]?.length ?? 0, embeddings: vectors.map((v) => Array.from(v)) };
}

/** Embeddings as JSON, or as raw float32 when the request's Accept prefers application/octet-stream. */
function sendEmbeddings(req: Request, res: Response, model: ModelInfo, vectors: Float32Array[]): void {
  res.vary('Accept');
  if (prefersBinaryEmbeddings(req)) sendBinaryEmbeddings(res, model, vectors);
  else res.json(embeddingsBody(model, vectors));
}

/** 415 unless the body is JSON; `accepted` names what the route takes, for the message. */
export function requireJson(req: Request, accepted = 'application/json'): void {
  if (!req.is('application/json')) {
    throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', `send the body as ${accepted}`);
  }
}

/**
 * POST /v1/embed/images (JSON, or one image file as the raw body) and POST /v1/embed/texts; both answer JSON, or
 * raw float32 when Accept prefers application/octet-stream (binary-transport.ts).
 */
export const registerEmbedRoutes: RouteRegistrar = (router, context) => {
  const { config, host } = context;
  router.post(
    '/embed/images',
    express.raw({ limit: config.maxBodyBytes, type: sendsRawImage }),
    route(async (req, res) => {
      let images: Buffer[];
      if (sendsRawImage(req)) images = [rawImage(req.body)];
      else {
        requireJson(req, `application/json, or one image file as ${RAW_IMAGE_TYPES.join(', ')}`);
        images = await requestedImages(req.body, context, res.locals.scope.log);
      }
      const model = await host.acquire();
      sendEmbeddings(req, res, model.info, await model.images.embed(images));
    }),
  );
  router.post(
    '/embed/texts',
    route(async (req, res) => {
      requireJson(req);
      const texts = readTexts(readList(req.body, 'texts', config.maxTextsPerRequest), config.maxTextChars);
      const model = await host.acquire();
      sendEmbeddings(req, res, model.info, await model.texts.embed(texts));
    }),
  );
};

export function createInferenceApp(
  context: ServiceContext,
  routes: RouteRegistrar[] = [],
  lifecycle: Lifecycle = { draining: false, inFlight: new Set() },
) {
  const { config, metrics, host } = context;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.use((req, res, next) => {
    res.locals.scope = openRequestScope(req, res, context, lifecycle);
    if (lifecycle.draining && req.path !== '/healthz' && req.path !== '/metrics') {
      res.setHeader('Connection', 'close');
      return sendError(res, toHttpError(new ShuttingDownError('http')));
    }
    next();
  });

  app.get('/healthz', route((_req, res) => void res.json({ status: 'ok' })));
  app.get(
    '/readyz',
    route((_req, res) => {
      const readiness = host.readiness();
      if (!readiness.ready) res.status(503).setHeader('Retry-After', String(readiness.retryAfterSeconds));
      res.json(readiness.body);
    }),
  );
  app.get(
    '/metrics',
    route(async (_req, res) => {
      res.setHeader('Content-Type', metrics.registry.contentType);
      res.send(await metrics.registry.metrics());
    }),
  );

  const v1 = express.Router();
  v1.use(express.json({ limit: config.maxBodyBytes, type: 'application/json' }));
  for (const register of [registerEmbedRoutes, ...routes]) register(v1, context);
  app.use('/v1', v1);

  app.use((req, _res, next) => next(new HttpError(404, 'NOT_FOUND', `no route ${req.method} ${req.path}`)));
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => failRequest(res, res.locals.scope.log, error));
  return app;
}

export interface InferenceServer {
  /** e.g. http://127.0.0.1:4100 */
  url: string;
  port: number;
  /**
   * Graceful shutdown: readiness turns 503, new requests get 503 SHUTTING_DOWN, requests already
   * accepted finish (their queued images and texts included), then the model is released. After
   * SHUTDOWN_TIMEOUT_MS the remaining connections are cut.
   */
  close(): Promise<void>;
}

export async function startInferenceServer(context: ServiceContext, routes: RouteRegistrar[] = []): Promise<InferenceServer> {
  const { config, logger, host } = context;
  const lifecycle: Lifecycle = { draining: false, inFlight: new Set() };
  const server = http.createServer(rawImageFastPath(context, lifecycle, createInferenceApp(context, routes, lifecycle)));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  logger.info({ url, modelLoad: config.modelLoad }, 'inference service listening');
  logger.flush(); // supervisors and tests read the address from this line
  if (config.modelLoad === 'eager') host.load().catch(() => undefined); // the host logs the failure; readiness reports it

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      logger.info('shutting down: finishing accepted requests');
      lifecycle.draining = true;
      for (const res of lifecycle.inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
      const httpClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const forceTimer = setTimeout(() => {
        logger.warn({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timeout reached; closing remaining connections');
        server.closeAllConnections();
      }, config.shutdownTimeoutMs);
      try {
        await httpClosed;
        await host.close();
        await context.storedImages?.close();
      } finally {
        clearTimeout(forceTimer);
      }
      logger.info('shutdown complete');
    })());
  return { url, port, close };
}
