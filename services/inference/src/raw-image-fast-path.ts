import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';

import { prefersBinaryEmbeddings, sendBinaryEmbeddings, sendsRawImage } from './binary-transport.ts';
import { openRequestScope, type Lifecycle } from './request-scope.ts';
import { failRequest } from './http-errors.ts';
import type { ServiceContext } from './server.ts';

export const RAW_IMAGE_PATH = '/v1/embed/images';

/**
 * The hot request of an embedding client — POST /v1/embed/images with one image file as an identity-encoded body of
 * known length within the limit, answered as raw float32 — straight from node:http to the model, without express's
 * router, body parser and response helpers. With the stand-in model, whose encoder takes a fraction of a
 * millisecond per image, the main thread's busy time per image fell from 0.92 to 0.67 ms (inference-http profile).
 * Every other request (JSON, Accept preferring JSON, chunked or oversized bodies, other paths, and every request
 * once shutdown has begun) goes to `fallback`, the express app, which answers it as before; the answers are the same
 * bytes and headers (tested in raw-image-fast-path.spec.ts).
 */
export function rawImageFastPath(context: ServiceContext, lifecycle: Lifecycle, fallback: RequestListener): RequestListener {
  return (req, res) => {
    const length = lifecycle.draining ? undefined : fastPathBodyLength(req, context.config.maxBodyBytes);
    if (length === undefined) fallback(req, res);
    else void embedOneImage(context, lifecycle, req, res, length);
  };
}

/** The body's length when the request takes the fast path, else undefined. */
function fastPathBodyLength(req: IncomingMessage, maxBodyBytes: number): number | undefined {
  if (req.method !== 'POST' || req.url !== RAW_IMAGE_PATH) return undefined;
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return undefined;
  if (!sendsRawImage(req) || !prefersBinaryEmbeddings(req)) return undefined;
  const length = Number(req.headers['content-length']);
  return Number.isInteger(length) && length > 0 && length <= maxBodyBytes ? length : undefined;
}

async function embedOneImage(context: ServiceContext, lifecycle: Lifecycle, req: IncomingMessage, res: ServerResponse, length: number) {
  const scope = openRequestScope(req, res, context, lifecycle);
  scope.route = RAW_IMAGE_PATH;
  let image: Buffer;
  try {
    image = await readBody(req, length);
  } catch {
    res.destroy(); // the client went away mid-body: nobody to answer
    return;
  }
  try {
    const model = await context.host.acquire();
    const vectors = await model.images.embed([image]);
    res.setHeader('Vary', 'Accept');
    sendBinaryEmbeddings(res, model.info, vectors);
  } catch (error) {
    failRequest(res, scope.log, error);
  }
}

/** The body into one buffer of its announced length (node:http ends the body at Content-Length). */
function readBody(req: IncomingMessage, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const body = Buffer.allocUnsafe(length);
    let received = 0;
    req.on('data', (chunk: Buffer) => {
      chunk.copy(body, received);
      received += chunk.length;
    });
    req.on('end', () => (received === length ? resolve(body) : reject(new Error(`body ended after ${received} of ${length} bytes`))));
    req.on('error', reject);
    req.on('aborted', () => reject(new Error('request aborted')));
  });
}
