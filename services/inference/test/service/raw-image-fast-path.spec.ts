// The node:http fast path of POST /v1/embed/images (one raw image, float32 answer) against the express route it
// shortcuts, on a real server over the committed stand-in package: which requests take it, that its answers (bytes,
// status, headers, errors, logs, metrics) are the express route's, and that a client leaving mid-body leaves nothing.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { RAW_IMAGE_PATH, rawImageFastPath } from '../../src/raw-image-fast-path.ts';
import type { Lifecycle } from '../../src/request-scope.ts';
import { createInferenceApp } from '../../src/server.ts';
import { distinctPhotos, eventually, expectErrorResponse, metricValue, testContext, waitUntilReady, type LogLine } from './support.ts';

const MAX_BODY_BYTES = 256 * 1024;
const BINARY = 'application/octet-stream';

const { context, logs } = testContext({ maxBatch: 1, maxBodyBytes: MAX_BODY_BYTES });
const lifecycle: Lifecycle = { draining: false, inFlight: new Set() };
/** Requests the fast path handed to the express app. */
const fallbackRequests: string[] = [];
let server: http.Server;
let url: string;
let photo: Buffer;

beforeAll(async () => {
  const app = createInferenceApp(context, [], lifecycle);
  server = http.createServer(
    rawImageFastPath(context, lifecycle, (req, res) => {
      fallbackRequests.push(`${req.method} ${req.url}`);
      app(req, res);
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await context.host.load();
  await waitUntilReady(url);
  [photo] = await distinctPhotos(1);
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await context.host.close();
});

/** Sends `init` and reports whether the express app answered it. */
async function send(path: string, init: RequestInit): Promise<{ response: Response; viaExpress: boolean }> {
  const before = fallbackRequests.length;
  const response = await fetch(`${url}${path}`, init);
  await response.clone().arrayBuffer();
  return { response, viaExpress: fallbackRequests.length > before };
}

function rawImage(body: Uint8Array, headers: Record<string, string> = {}): RequestInit {
  return { method: 'POST', headers: { 'content-type': 'image/jpeg', accept: BINARY, ...headers }, body: new Uint8Array(body) };
}

/** The same bytes sent chunked (no Content-Length), which the fast path leaves to express. */
function chunked(body: Uint8Array, headers: Record<string, string>): RequestInit {
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new Uint8Array(body));
      controller.close();
    },
  });
  return { method: 'POST', headers, body: stream, duplex: 'half' } as RequestInit;
}

async function badImageCount(): Promise<number> {
  const labels = { method: 'POST', route: RAW_IMAGE_PATH, status: '400' };
  return metricValue(await context.metrics.registry.metrics(), 'inference_http_request_duration_seconds_count', labels) ?? 0;
}

/** Status, the headers that do not change from request to request, and the body. */
async function answerOf(response: Response) {
  const headers = Object.fromEntries([...response.headers].filter(([name]) => !['date', 'keep-alive', 'connection'].includes(name)));
  return { status: response.status, headers, body: Buffer.from(await response.arrayBuffer()) };
}

describe('the fast path of POST /v1/embed/images', () => {
  it('takes a raw image that asks for float32, and answers the bytes and headers the express route does', async () => {
    const headers = { 'content-type': 'image/jpeg', accept: BINARY, 'x-request-id': 'same-answer-1' };
    const fast = await send(RAW_IMAGE_PATH, rawImage(photo, headers));
    const slow = await send(RAW_IMAGE_PATH, chunked(photo, headers));
    expect([fast.viaExpress, slow.viaExpress]).toEqual([false, true]);
    const [fastAnswer, slowAnswer] = [await answerOf(fast.response), await answerOf(slow.response)];
    expect(fastAnswer.status).toBe(200);
    expect(fastAnswer.body.length).toBe(768 * 4);
    expect(fastAnswer).toEqual(slowAnswer);
  });

  it('leaves every other request to express', async () => {
    const json = JSON.stringify({ images: [photo.toString('base64')] });
    const cases: [string, string, RequestInit][] = [
      ['JSON body', RAW_IMAGE_PATH, { method: 'POST', headers: { 'content-type': 'application/json', accept: BINARY }, body: json }],
      ['no Accept: JSON answer', RAW_IMAGE_PATH, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: new Uint8Array(photo) }],
      ['Accept prefers JSON', RAW_IMAGE_PATH, rawImage(photo, { accept: `application/json, ${BINARY};q=0.5` })],
      ['query string', `${RAW_IMAGE_PATH}?x=1`, rawImage(photo)],
      ['compressed body', RAW_IMAGE_PATH, rawImage(photo, { 'content-encoding': 'gzip' })],
      ['over the body limit', RAW_IMAGE_PATH, rawImage(Buffer.alloc(MAX_BODY_BYTES + 1))],
      ['empty body', RAW_IMAGE_PATH, rawImage(Buffer.alloc(0))],
      ['GET', RAW_IMAGE_PATH, { headers: { accept: BINARY } }],
    ];
    for (const [what, path, init] of cases) {
      expect({ what, viaExpress: (await send(path, init)).viaExpress }).toEqual({ what, viaExpress: true });
    }
  });

  it('answers bytes that are not an image with the express route’s typed 400, logged and counted under the route', async () => {
    const garbage = Buffer.from('not an image at all');
    const countedBefore = await badImageCount();
    const headers = { 'content-type': 'image/jpeg', accept: BINARY, 'x-request-id': 'bad-image-1' };
    const fast = await send(RAW_IMAGE_PATH, rawImage(garbage, headers));
    const slow = await send(RAW_IMAGE_PATH, chunked(garbage, headers));
    expect([fast.viaExpress, slow.viaExpress]).toEqual([false, true]);
    const error = await expectErrorResponse(fast.response.clone(), 400, 'UNSUPPORTED_IMAGE');
    expect(error.details).toEqual({ index: 0 });
    expect(await answerOf(fast.response)).toEqual(await answerOf(slow.response));

    const lines = logs.filter((line: LogLine) => line.requestId === 'bad-image-1');
    expect(lines.filter((line) => line.msg === 'request finished').map((line) => [line.path, line.status])).toEqual([
      [RAW_IMAGE_PATH, 400],
      [RAW_IMAGE_PATH, 400],
    ]);
    expect(lines.some((line) => line.code === 'UNSUPPORTED_IMAGE')).toBe(true);
    expect((await badImageCount()) - countedBefore).toBe(2);
  });

  it('leaves requests to express once shutdown has begun, which refuses them with 503 SHUTTING_DOWN', async () => {
    lifecycle.draining = true;
    try {
      const { response, viaExpress } = await send(RAW_IMAGE_PATH, rawImage(photo));
      expect(viaExpress).toBe(true);
      await expectErrorResponse(response, 503, 'SHUTTING_DOWN');
    } finally {
      lifecycle.draining = false;
    }
  });

  it('drops a request whose client leaves mid-body, and keeps serving', async () => {
    const socket = net.connect((server.address() as AddressInfo).port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      `POST ${RAW_IMAGE_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nAccept: ${BINARY}\r\nContent-Length: ${photo.length}\r\n\r\n`,
    );
    socket.write(photo.subarray(0, 100));
    await eventually(() => lifecycle.inFlight.size === 1);
    socket.destroy();
    await eventually(() => lifecycle.inFlight.size === 0);
    const { response, viaExpress } = await send(RAW_IMAGE_PATH, rawImage(photo));
    expect([response.status, viaExpress]).toEqual([200, false]);
  });
});
