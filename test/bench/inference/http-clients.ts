import http from "node:http";
import { EMBEDDING_HEADERS, EMBEDDINGS_BINARY_TYPE, InferenceClient } from "../../../services/inference/src/client.ts";
import { wrkAvailable } from "../lib/wrk.ts";
import type { ImageInput } from "./image-inputs.ts";

/** How the benchmark's clients talk to the service: `wrk` (wrk-clients.ts) where installed, else `binary`. */
export const CLIENT_KINDS = ["wrk", "binary", "raw", "typed"] as const;
export type ClientKind = (typeof CLIENT_KINDS)[number];
export const DEFAULT_CLIENT_KIND: ClientKind = wrkAvailable() ? "wrk" : "binary";
/** The kinds that run as closed loops of Node requests in the benchmark process. */
export type NodeClientKind = Exclude<ClientKind, "wrk">;
export const EMBEDDING_DIM = 768;

export type RequestOutcome = { items: number } | { failure: string };
export type ImageRequester = (client: number, sequence: number) => Promise<RequestOutcome>;

export interface HttpClients {
  request: ImageRequester;
  close(): void;
}

/** Client `c` sends image (c + sequence) mod n: every image is in flight all the time, in a different mix per batch. */
export function imageFor(images: readonly ImageInput[], client: number, sequence: number): ImageInput {
  return images[(client + sequence) % images.length]!;
}

/**
 * `binary` and `raw`: node:http with a keep-alive agent and request bodies prepared once before the run, so the load
 * generator (which shares the machine's two cores with the service) spends as little CPU as possible. `binary` sends
 * the image file as the body (application/octet-stream) and asks for raw float32 (Accept: application/octet-stream);
 * each response is checked for status 200 and count × dim × 4 bytes. `raw` sends `{"images": [base64]}` and gets
 * JSON, checked for status 200 and its "dim". `typed`: the project's InferenceClient with its default (binary)
 * transport (fetch per call, decoded into Float32Arrays), as the api and training services call it.
 */
export function createHttpClients(kind: NodeClientKind, baseUrl: string, images: readonly ImageInput[], clients: number): HttpClients {
  if (kind === "typed") {
    const client = new InferenceClient({ baseUrl, timeoutMs: 300_000, maxRetries: 0 });
    return {
      async request(c, sequence) {
        try {
          const { vectors } = await client.embedImages([imageFor(images, c, sequence).bytes]);
          return vectors.length === 1 && vectors[0]!.length > 0 ? { items: 1 } : { failure: `got ${vectors.length} vectors` };
        } catch (error) {
          return { failure: (error as Error).message };
        }
      },
      close() {},
    };
  }
  if (kind === "binary") {
    return keepAliveClients(baseUrl, clients, {
      bodies: images.map((image) => image.bytes),
      headers: { "content-type": EMBEDDINGS_BINARY_TYPE, accept: EMBEDDINGS_BINARY_TYPE },
      check: binaryEmbeddingFailure,
    });
  }
  return keepAliveClients(baseUrl, clients, {
    bodies: images.map((image) => Buffer.from(JSON.stringify({ images: [image.bytes.toString("base64")] }))),
    headers: { "content-type": "application/json" },
    check: (_res, body) => (body.toString("utf8").includes(`"dim":${EMBEDDING_DIM}`) ? undefined : `unexpected body: ${body.toString("utf8", 0, 200)}`),
  });
}

/** What is wrong with a 200 answer to `binary`: anything but one 768-float embedding as count × dim × 4 bytes. */
function binaryEmbeddingFailure(res: http.IncomingMessage, body: Buffer): string | undefined {
  const count = Number(res.headers[EMBEDDING_HEADERS.count.toLowerCase()]);
  const dim = Number(res.headers[EMBEDDING_HEADERS.dim.toLowerCase()]);
  if (res.headers["content-type"] !== EMBEDDINGS_BINARY_TYPE) return `expected ${EMBEDDINGS_BINARY_TYPE}, got ${res.headers["content-type"]}`;
  if (count !== 1 || dim !== EMBEDDING_DIM) return `expected 1 × ${EMBEDDING_DIM} floats, got count ${count}, dim ${dim}`;
  return body.length === count * dim * 4 ? undefined : `${body.length} bytes for ${count} × ${dim} float32`;
}

interface KeepAliveRequests {
  /** One body per image, prepared before the run. */
  bodies: readonly Buffer[];
  headers: http.OutgoingHttpHeaders;
  /** The failure of a 200 answer, or undefined when it is what was asked for. */
  check(res: http.IncomingMessage, body: Buffer): string | undefined;
}

/** Closed-loop POSTs to /v1/embed/images over a node:http keep-alive agent (one socket per client). */
function keepAliveClients(baseUrl: string, clients: number, { bodies, headers, check }: KeepAliveRequests): HttpClients {
  const url = new URL("/v1/embed/images", baseUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  return {
    request(c, sequence) {
      const body = bodies[(c + sequence) % bodies.length]!;
      return new Promise<RequestOutcome>((resolve) => {
        const req = http.request(url, { method: "POST", agent, headers: { ...headers, "content-length": body.length } }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => {
            const answer = Buffer.concat(chunks);
            const failure = res.statusCode === 200 ? check(res, answer) : `HTTP ${res.statusCode}: ${answer.toString("utf8", 0, 200)}`;
            resolve(failure === undefined ? { items: 1 } : { failure });
          });
          res.on("error", (error) => resolve({ failure: error.message }));
        });
        req.on("error", (error) => resolve({ failure: error.message }));
        req.end(body);
      });
    },
    close: () => agent.destroy(),
  };
}

/** One request checked in full (parsed, 768 unit-length values), before any timing. */
export async function checkOneEmbedding(baseUrl: string, image: ImageInput): Promise<{ dim: number; norm: number; isStandIn: boolean }> {
  const client = new InferenceClient({ baseUrl, timeoutMs: 120_000, maxRetries: 0 });
  const { vectors, model } = await client.embedImages([image.bytes]);
  const vector = vectors[0]!;
  const norm = Math.sqrt(vector.reduce((sum, x) => sum + x * x, 0));
  if (vector.length !== 768 || Math.abs(norm - 1) > 1e-4) throw new Error(`the service returned a ${vector.length}-d vector of norm ${norm}`);
  return { dim: vector.length, norm, isStandIn: model.isStandIn };
}
