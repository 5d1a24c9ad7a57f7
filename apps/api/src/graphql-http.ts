import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { HeaderMap, type ApolloServer, type BaseContext } from "@apollo/server";

export interface GraphqlHttpOptions<TContext extends BaseContext> {
  /** Exact path served, e.g. "/graphql" (a query string may follow). */
  path: string;
  maxBodyBytes: number;
  context: (req: IncomingMessage, res: ServerResponse) => Promise<TContext>;
  /** Answers a body that is not JSON, or an unexpected failure; `status` as for an HTTP error. */
  sendError: (res: ServerResponse, error: Error & { status?: number }) => void;
}

/**
 * The common case of a GraphQL request — POST to `path` with an identity-encoded JSON body of a
 * known length within the limit — straight from node:http to Apollo's executeHTTPGraphQLRequest,
 * as @as-integrations/express5 does but without express's router, body-parser and `res.send`
 * (with its ETag hash of every body): ≈ 0.2 ms of CPU of a taxon page in the taxon-page benchmark.
 * Every other request (GET, other content types or encodings, chunked or oversized bodies, other
 * paths) goes to `fallback`, the express app, which answers it as before.
 */
export function graphqlHttpHandler<TContext extends BaseContext>(
  apollo: ApolloServer<TContext>,
  options: GraphqlHttpOptions<TContext>,
  fallback: RequestListener,
): RequestListener {
  return (req, res) => {
    const length = fastPathBodyLength(req, options);
    if (length === undefined) {
      fallback(req, res);
      return;
    }
    readBody(req, length).then(
      (text) => answer(apollo, options, req, res, text),
      () => res.destroy(),
    );
  };
}

/** The body's length when the request takes the fast path, else undefined. */
function fastPathBodyLength(req: IncomingMessage, options: { path: string; maxBodyBytes: number }): number | undefined {
  if (req.method !== "POST") return undefined;
  const url = req.url ?? "";
  if (!url.startsWith(options.path) || (url.length > options.path.length && url[options.path.length] !== "?")) return undefined;
  const encoding = req.headers["content-encoding"];
  if (encoding !== undefined && encoding.toLowerCase() !== "identity") return undefined;
  if (!isJsonUtf8(req.headers["content-type"])) return undefined;
  const length = Number(req.headers["content-length"]);
  return Number.isInteger(length) && length > 0 && length <= options.maxBodyBytes ? length : undefined;
}

/** `application/json`, with no charset or a UTF-8 one (what express.json would decode). */
function isJsonUtf8(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const [type, ...parameters] = contentType.split(";");
  if (type!.trim().toLowerCase() !== "application/json") return false;
  return parameters.every((parameter) => {
    const [name, value] = parameter.split("=").map((part) => part.trim().toLowerCase());
    return name !== "charset" || value === "utf-8" || value === '"utf-8"';
  });
}

function readBody(req: IncomingMessage, length: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks, length).toString("utf8")));
    req.on("error", reject);
  });
}

/** JSON.parse with express.json's strict rule: the body must be an object or an array. */
function parseJsonBody(text: string): unknown {
  const body: unknown = JSON.parse(text);
  if (typeof body !== "object" || body === null) throw new SyntaxError("request body must be a JSON object or array");
  return body;
}

async function answer<TContext extends BaseContext>(
  apollo: ApolloServer<TContext>,
  options: GraphqlHttpOptions<TContext>,
  req: IncomingMessage,
  res: ServerResponse,
  text: string,
): Promise<void> {
  let body: unknown;
  try {
    body = parseJsonBody(text);
  } catch (error) {
    options.sendError(res, Object.assign(error as Error, { status: 400 }));
    return;
  }
  try {
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(", ") : value);
    }
    const url = req.url!;
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: "POST", headers, search: url.length > options.path.length ? url.slice(options.path.length) : "", body },
      context: () => options.context(req, res),
    });
    for (const [key, value] of response.headers) res.setHeader(key, value);
    res.statusCode = response.status ?? 200;
    if (response.body.kind === "complete") {
      res.setHeader("content-length", Buffer.byteLength(response.body.string));
      res.end(response.body.string);
      return;
    }
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
  } catch (error) {
    if (res.headersSent) res.destroy();
    else options.sendError(res, error as Error);
  }
}
