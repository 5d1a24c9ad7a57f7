// waitForClassifier against a fake service that answers GET /v1/classify/status from a script.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { ClassifierStatusResponse } from "../../../../services/inference/src/client.ts";
import { Progress } from "../../lib/progress.ts";
import { waitForClassifier, type ServiceProcess } from "../service-process.ts";

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

/** A fake service whose status answers are `script`, the last one repeated; counts the calls. */
async function fakeService(script: ClassifierStatusResponse[]): Promise<{ service: ServiceProcess; calls: () => number }> {
  let calls = 0;
  server = createServer((req, res) => {
    if (req.url !== "/v1/classify/status") return void res.writeHead(404).end();
    const body = script[Math.min(calls++, script.length - 1)];
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const service: ServiceProcess = { pid: 0, baseUrl: `http://127.0.0.1:${port}`, env: {}, stderrTail: () => "", stop: async () => 0 };
  return { service, calls: () => calls };
}

function recordingProgress(): { progress: Progress; lines: string[] } {
  const lines: string[] = [];
  return { progress: new Progress("test", (line) => lines.push(line)), lines };
}

describe("waitForClassifier", () => {
  it("polls while the catalog is built and logs its progress, then returns once it is ready", async () => {
    const loading = (done: number): ClassifierStatusResponse => ({ status: "loading", progress: { step: "embedding", done, total: 400, unit: "species" } });
    const { service, calls } = await fakeService([{ status: "not_loaded" }, loading(16), loading(48), { status: "ready" }]);
    const { progress, lines } = recordingProgress();
    await waitForClassifier(service, progress);
    expect(calls()).toBe(4);
    expect(lines).toHaveLength(1); // at most one line per 10 s
    expect(lines[0]).toMatch(/waiting for the service's species catalog \(not_loaded\)$/);
  });

  it("returns when the build failed, saying so", async () => {
    const { service } = await fakeService([{ status: "loading" }, { status: "failed", error: "no such folder" }]);
    const { progress, lines } = recordingProgress();
    await waitForClassifier(service, progress);
    expect(lines.at(-1)).toMatch(/failed to build \(no such folder\); measuring anyway/);
  });

  it("gives up after its timeout", async () => {
    const { service } = await fakeService([{ status: "loading" }]);
    await expect(waitForClassifier(service, recordingProgress().progress, 600)).rejects.toThrow(/not built within 600 ms/);
  });
});
