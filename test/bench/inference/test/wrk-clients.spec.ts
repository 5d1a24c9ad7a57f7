import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { wrkAvailable } from "../../lib/wrk.ts";
import type { ImageInput } from "../image-inputs.ts";
import { EMBED_IMAGES_PATH, imagesScript, runWrkImages } from "../wrk-clients.ts";

const image = (text: string): ImageInput => ({ source: text, bytes: Buffer.from(text), width: 1, height: 1 });

describe("wrk image client", () => {
  it("reads every image file in order and checks the answer's size", () => {
    const script = imagesScript(["/a/0", "/a/1"], 768, "/a/failure");
    expect(script.indexOf('"/a/0"')).toBeLessThan(script.indexOf('"/a/1"'));
    expect(script).toContain("local expected_bytes = 3072");
    expect(script).toContain(`"${EMBED_IMAGES_PATH}"`);
  });
});

describe.skipIf(!wrkAvailable())("wrk image client against a local server", () => {
  let server: Server;
  let baseUrl = "";
  const bodies: string[] = [];

  beforeAll(async () => {
    // Answers 4 floats; image "bad" gets a 400.
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const body = Buffer.concat(chunks).toString();
        bodies.push(body);
        if (req.url !== EMBED_IMAGES_PATH || req.headers["content-type"] !== "application/octet-stream" || body === "bad") {
          res.writeHead(400).end("no");
          return;
        }
        res.writeHead(200, { "content-type": "application/octet-stream" }).end(Buffer.alloc(16));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("posts the image bytes in turn, counts good answers and failures, and reports its CPU", async () => {
    const run = await runWrkImages(baseUrl, [image("a"), image("b"), image("bad")], 2, 1, 4);
    expect(new Set(bodies)).toEqual(new Set(["a", "b", "bad"]));
    expect(run.items + run.summary.failures).toBe(run.summary.requests);
    expect(run.summary.failures).toBeGreaterThanOrEqual(Math.floor(bodies.length / 3) - 2);
    expect(run.items).toBeGreaterThanOrEqual(Math.floor((2 * bodies.length) / 3) - 2);
    expect(run.failureSamples[0]).toMatch(/^HTTP 400/);
    expect(run.latency.p99).toBeGreaterThan(0);
    expect(run.cpuMs).toBeGreaterThan(0);
  });
});
