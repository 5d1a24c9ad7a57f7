// An HTTP proxy in front of the inference service that forwards the first `forward` embedding
// requests and then holds every later one unanswered: a worker behind it is stuck mid-job at a
// known point, so a test can kill it there without racing the job.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface HoldingProxy {
  url: string;
  /** Embedding requests received so far (forwarded or held). */
  received: number;
  /** Resolves once `count` embedding requests have arrived. */
  waitForRequests(count: number): Promise<void>;
  close(): Promise<void>;
}

export async function startHoldingProxy(target: string, forward: number): Promise<HoldingProxy> {
  const sockets = new Set<Socket>();
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  const proxy: HoldingProxy = {
    url: "",
    received: 0,
    waitForRequests: (count) => (proxy.received >= count ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve }))),
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  const server: Server = createServer(async (request, response) => {
    const body = await readBody(request);
    const isEmbedding = request.url?.startsWith("/v1/embed/") ?? false;
    if (isEmbedding) {
      proxy.received++;
      for (const waiter of waiters.filter((w) => proxy.received >= w.count)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
      if (proxy.received > forward) return; // held: never answered
    }
    const upstream = await fetch(`${target}${request.url}`, {
      method: request.method,
      headers: { "content-type": request.headers["content-type"] ?? "application/json" },
      body: request.method === "GET" ? undefined : new Uint8Array(body),
    });
    response.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "application/json" });
    response.end(Buffer.from(await upstream.arrayBuffer()));
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
