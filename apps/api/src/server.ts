import type { IncomingMessage, RequestListener, Server, ServerResponse } from "node:http";
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { expressMiddleware } from "@as-integrations/express5";
import { renderGraphiQL } from "@graphql-yoga/render-graphiql";
import express from "express";
import depthLimit from "graphql-depth-limit";
import type { GraphQLFormattedError } from "graphql";
import type { Logger, Store } from "@arbor/store";
import { compiledExecutionPlugin } from "./compiled-execution.plugin.ts";
import { complexityLimitPlugin } from "./complexity.plugin.ts";
import { createContext, createServices, type Context } from "./context.ts";
import { graphqlHttpHandler } from "./graphql-http.ts";
import { MAX_BODY_BYTES, MAX_QUERY_DEPTH } from "./limits.ts";
import { requestLogPlugin } from "./request-log.plugin.ts";
import { buildApiSchema } from "./schema.ts";

export interface ApiApp {
  /** The HTTP server's request listener: JSON POSTs to /graphql straight to Apollo, the rest through express. */
  app: RequestListener;
  apollo: ApolloServer<Context>;
}

// Rendered once: the page inlines GraphiQL and its editor workers, so it needs no CDN.
let graphiqlPage: string | undefined;
const graphiql = () => (graphiqlPage ??= renderGraphiQL({ endpoint: "/graphql", title: "Arbor GraphiQL" }));

/** Unexpected errors are logged in full and reach the client as a bare INTERNAL_SERVER_ERROR. */
function formatError(log: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    if (formatted.extensions?.code === "INTERNAL_SERVER_ERROR") {
      log.error({ err: error }, "unexpected error in resolver");
      return { message: "internal error", extensions: { code: "INTERNAL_SERVER_ERROR" }, path: formatted.path };
    }
    const { stacktrace: _stack, ...extensions } = formatted.extensions ?? {};
    return { ...formatted, extensions };
  };
}

/** An HTTP-level failure (unreadable or oversized body, …) as a GraphQL-shaped error response. */
function sendHttpError(log: Logger) {
  return (res: ServerResponse, error: Error & { status?: number; type?: string }) => {
    const status = error.status ?? 500;
    if (status >= 500) log.error({ err: error }, "request failed");
    const code = error.type === "entity.too.large" ? "PAYLOAD_TOO_LARGE" : status < 500 ? "BAD_REQUEST" : "INTERNAL_SERVER_ERROR";
    const body = JSON.stringify({ errors: [{ message: status < 500 ? error.message : "internal error", extensions: { code } }] });
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(body) });
    res.end(body);
  };
}

export async function createApiApp(store: Store, log: Logger, httpServer: Server, defaultModelVersionId?: number): Promise<ApiApp> {
  const schema = await buildApiSchema();
  const services = createServices(store, defaultModelVersionId);
  const apollo = new ApolloServer<Context>({
    schema,
    introspection: true,
    validationRules: [depthLimit(MAX_QUERY_DEPTH)],
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      ApolloServerPluginLandingPageDisabled(),
      // Arbor sets no cache hints; Apollo's default cache-control plugin would still wrap every
      // resolver and hook every field of every request.
      ApolloServerPluginCacheControlDisabled(),
      complexityLimitPlugin(schema),
      compiledExecutionPlugin(schema),
      requestLogPlugin(),
    ],
    formatError: formatError(log),
    includeStacktraceInErrorResponses: false,
  });
  await apollo.start();

  const sendError = sendHttpError(log);
  const context = async (req: IncomingMessage, res: ServerResponse) => {
    const requestId = req.headers["x-request-id"];
    const value = createContext(store, services, log, typeof requestId === "string" ? requestId : undefined);
    res.setHeader("x-request-id", value.requestId);
    return value;
  };

  const app = express();
  app.disable("x-powered-by");
  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  app.get("/readyz", async (_req, res) => {
    try {
      await store.pool.query("SELECT 1");
      res.json({ status: "ready" });
    } catch (error) {
      res.status(503).json({ status: "unavailable", reason: (error as Error).message });
    }
  });
  app.get("/graphiql", (_req, res) => {
    res.type("html").send(graphiql());
  });
  app.get("/graphql", (req, res, next) => {
    if (req.accepts(["application/json", "html"]) === "html") res.redirect("/graphiql");
    else next();
  });
  app.use(
    "/graphql",
    express.json({ limit: MAX_BODY_BYTES }),
    expressMiddleware(apollo, { context: ({ req, res }) => context(req, res) }),
  );
  app.use((error: Error & { status?: number; type?: string }, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    sendError(res, error);
  });
  return { app: graphqlHttpHandler(apollo, { path: "/graphql", maxBodyBytes: MAX_BODY_BYTES, context, sendError }, app), apollo };
}
