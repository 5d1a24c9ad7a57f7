import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isValidBody, type LoadTarget } from "../load-generator.ts";
import { luaString, wrkAvailable } from "../../lib/wrk.ts";
import { runWrkLoad, wrkScript } from "../wrk-load.ts";

const CHECK = { prefix: '{"data":{"taxon":{', absent: '"errors"' };

describe("taxon-page wrk script", () => {
  it("puts every request, in order, and the body check into the script", () => {
    const target: LoadTarget = {
      name: "t",
      baseUrl: "http://127.0.0.1:1",
      request: (id) => ({ method: "POST", path: "/graphql", headers: { "content-type": "application/json" }, body: `{"id":${id}}` }),
      validBody: CHECK,
    };
    const script = wrkScript(target, [7, 3], "/tmp/x");
    expect(script.indexOf(luaString('{"id":7}'))).toBeLessThan(script.indexOf(luaString('{"id":3}')));
    expect(script).toContain(`local prefix = ${luaString(CHECK.prefix)}`);
    expect(script).toContain(luaString("content-type"));
  });

  it("applies the same body check as the in-process generator", () => {
    expect(isValidBody(CHECK, '{"data":{"taxon":{"id":1}}}')).toBe(true);
    expect(isValidBody(CHECK, '{"data":{"taxon":null}}')).toBe(false);
    expect(isValidBody(CHECK, '{"data":{"taxon":{"id":1}},"errors":[]}')).toBe(false);
  });
});

describe.skipIf(!wrkAvailable())("wrk against a local server", () => {
  let server: Server;
  let baseUrl = "";
  const seen: number[] = [];

  beforeAll(async () => {
    // Taxon 2 answers an invalid page, taxon 3 a 500; the rest valid pages.
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString()));
      req.on("end", () => {
        const id = (JSON.parse(body) as { id: number }).id;
        seen.push(id);
        res.writeHead(id === 3 ? 500 : 200, { "content-type": "application/json" });
        res.end(id === 2 ? '{"errors":[{"message":"no"}]}' : `{"data":{"taxon":{"id":${id}}}}`);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("sends the ids in order, counts invalid bodies and error statuses, and reports its CPU", async () => {
    const target: LoadTarget = { name: "local", baseUrl, request: (id) => ({ method: "POST", path: "/", body: JSON.stringify({ id }) }), validBody: CHECK };
    const result = await runWrkLoad(target, { generator: "wrk", connections: 1, durationSeconds: 1, ids: [1, 2, 3, 4] });
    // The ids cycle in list order (wrk may spend the first request() call before the connection sends).
    expect(seen.length).toBeGreaterThan(8);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBe((seen[i - 1]! % 4) + 1);
    const quarter = seen.length / 4;
    expect(result.invalidBodies).toBeGreaterThanOrEqual(Math.floor(quarter) - 1);
    expect(result.non2xx).toBeGreaterThanOrEqual(Math.floor(quarter) - 1);
    expect(result.firstInvalidBody).toContain('"errors"');
    expect(result.requests + result.non2xx).toBeGreaterThanOrEqual(seen.length - 1);
    expect(result.p99).toBeGreaterThan(0);
    expect(result.generatorCpuMs).toBeGreaterThan(0);
  });
});
