import { createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTaxon, type MadeTaxon } from "../../../test/factories/taxa.factory.ts";
import { openTestDatabase, type TestDatabase } from "../../../test/support/test-database.ts";
import { createApiApp, type ApiApp } from "../src/server.ts";

/** A raw HTTP exchange, so that headers, chunked bodies and status codes are the test's to choose. */
function send(url: string, options: { method?: string; path?: string; headers?: Record<string, string>; body?: string; chunked?: boolean }) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; json: any }>((resolve, reject) => {
    const target = new URL(options.path ?? "/graphql", url);
    const headers = { ...options.headers };
    if (options.body !== undefined && !options.chunked) headers["content-length"] = String(Buffer.byteLength(options.body));
    const req = httpRequest(target, { method: options.method ?? "POST", headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, json: JSON.parse(Buffer.concat(chunks).toString("utf8")) }));
    });
    req.on("error", reject);
    if (options.body !== undefined) {
      if (options.chunked) {
        // Two writes before end(): node sends the body chunked, without a content-length.
        req.write(options.body.slice(0, 5));
        req.write(options.body.slice(5));
      } else {
        req.write(options.body);
      }
    }
    req.end();
  });
}

const JSON_TYPE = { "content-type": "application/json" };

describe(`GraphQL over HTTP (${process.env.TEST_DATABASE_URL ? "real PostgreSQL" : "embedded PGlite"})`, () => {
  let db: TestDatabase;
  let api: ApiApp;
  let url: string;
  let genus: MadeTaxon;
  const logLines: Array<Record<string, unknown>> = [];
  const httpServer = createServer();

  beforeAll(async () => {
    db = await openTestDatabase();
    genus = await makeTaxon(db.store.pool, "genus", "Corvus");
    await makeTaxon(db.store.pool, "species", "Corvus corax", genus);
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(JSON.parse(chunk.toString("utf8")));
        done();
      },
    });
    api = await createApiApp(db.store, pino({ level: "info" }, sink), httpServer);
    httpServer.on("request", api.app);
    await new Promise<void>((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
  }, 60_000);

  afterAll(async () => {
    await api?.apollo.stop();
    httpServer.close();
    await db?.close();
  });

  it("answers a JSON POST with the request id it was given and logs one line for it", async () => {
    const response = await send(url, {
      headers: { ...JSON_TYPE, "x-request-id": "page-42" },
      body: JSON.stringify({
        query: `query Page($id: Int!) { taxon(id: $id) { scientificName children { edges { node { scientificName } } } } }`,
        operationName: "Page",
        variables: { id: genus.id },
      }),
    });
    expect(response.status).toBe(200);
    expect(response.headers["x-request-id"]).toBe("page-42");
    expect(response.headers["content-type"]).toMatch(/^application\/json/);
    expect(response.json).toEqual({ data: { taxon: { scientificName: "Corvus", children: { edges: [{ node: { scientificName: "Corvus corax" } }] } } } });
    const line = logLines.find((entry) => entry.requestId === "page-42");
    expect(line).toMatchObject({ msg: "graphql request", operation: "Page", level: 30 });
    expect(typeof line?.durationMs).toBe("number");
  });

  it("gives variables that do not coerce graphql-js's BAD_USER_INPUT error with status 400", async () => {
    const response = await send(url, { headers: JSON_TYPE, body: JSON.stringify({ query: `query($id: Int!) { taxon(id: $id) { id } }`, variables: { id: "abc" } }) });
    expect(response.status).toBe(400);
    expect(response.json.data).toBeUndefined();
    expect(response.json.errors).toHaveLength(1);
    expect(response.json.errors[0]).toMatchObject({
      message: `Variable "$id" got invalid value "abc"; Int cannot represent non-integer value: "abc"`,
      extensions: { code: "BAD_USER_INPUT" },
    });
    const missing = await send(url, { headers: JSON_TYPE, body: JSON.stringify({ query: `query($id: Int!) { taxon(id: $id) { id } }` }) });
    expect(missing.status).toBe(400);
    expect(missing.json.errors[0]).toMatchObject({ message: `Variable "$id" of required type "Int!" was not provided.`, extensions: { code: "BAD_USER_INPUT" } });
  });

  it("keeps null propagation and resolver error codes of graphql-js", async () => {
    const response = await send(url, {
      headers: JSON_TYPE,
      body: JSON.stringify({ query: `{ taxon(id: ${genus.id}) { id children(first: 0) { edges { cursor } } } other: taxon(id: ${genus.id}) { id } }` }),
    });
    expect(response.status).toBe(200);
    expect(response.json.data).toEqual({ taxon: null, other: { id: genus.id } });
    expect(response.json.errors).toHaveLength(1);
    expect(response.json.errors[0]).toMatchObject({ path: ["taxon", "children"], extensions: { code: "BAD_USER_INPUT", field: "first" } });
  });

  it("refuses a body that is not a JSON object with 400 BAD_REQUEST", async () => {
    for (const body of ["{ not json", `"a string"`]) {
      const response = await send(url, { headers: JSON_TYPE, body });
      expect(response.status, body).toBe(400);
      expect(response.json.errors[0].extensions.code, body).toBe("BAD_REQUEST");
    }
  });

  it("still serves what only express handled: chunked bodies, charset parameters and GET queries", async () => {
    const query = JSON.stringify({ query: `{ taxon(id: ${genus.id}) { scientificName } }` });
    const expected = { data: { taxon: { scientificName: "Corvus" } } };
    expect((await send(url, { headers: JSON_TYPE, body: query, chunked: true })).json).toEqual(expected);
    expect((await send(url, { headers: { "content-type": "application/json; charset=UTF-8" }, body: query })).json).toEqual(expected);
    const get = await send(url, {
      method: "GET",
      path: `/graphql?query=${encodeURIComponent(`{ taxon(id: ${genus.id}) { scientificName } }`)}`,
      headers: { accept: "application/json", "apollo-require-preflight": "true" },
    });
    expect(get.status).toBe(200);
    expect(get.json).toEqual(expected);
  });
});
