import http from "node:http";
import { InferenceClient } from "../../../services/inference/src/client.ts";
import type { ImageInput } from "./image-inputs.ts";

/** How the benchmark's clients talk to the service. */
export const CLIENT_KINDS = ["raw", "typed"] as const;
export type ClientKind = (typeof CLIENT_KINDS)[number];

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
 * `raw`: node:http with a keep-alive agent and request bodies JSON-encoded once before the run, so the
 * load generator (which shares the machine's two cores with the service) spends as little CPU as
 * possible; each response is checked for status 200 and its "dim". `typed`: the project's
 * InferenceClient (fetch, base64 and JSON.stringify per call, JSON.parse of the response), as the api
 * and training services call it.
 */
export function createHttpClients(kind: ClientKind, baseUrl: string, images: readonly ImageInput[], clients: number): HttpClients {
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
  const url = new URL("/v1/embed/images", baseUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const bodies = images.map((image) => Buffer.from(JSON.stringify({ images: [image.bytes.toString("base64")] })));
  return {
    request(c, sequence) {
      const body = bodies[(c + sequence) % bodies.length]!;
      return new Promise<RequestOutcome>((resolve) => {
        const req = http.request(
          url,
          { method: "POST", agent, headers: { "content-type": "application/json", "content-length": body.length } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (chunk: Buffer) => chunks.push(chunk));
            res.on("end", () => {
              const text = Buffer.concat(chunks).toString("utf8");
              if (res.statusCode !== 200) resolve({ failure: `HTTP ${res.statusCode}: ${text.slice(0, 200)}` });
              else if (!text.includes('"dim":768')) resolve({ failure: `unexpected body: ${text.slice(0, 200)}` });
              else resolve({ items: 1 });
            });
            res.on("error", (error) => resolve({ failure: error.message }));
          },
        );
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
