/**
 * A copy of apps/api/src/server.ts createApiApp (GraphQL part only: /graphql, /healthz, /readyz)
 * with the GraphQL-layer changes the benchmark measures as prototypes:
 *   no-cache-control    ApolloServerPluginCacheControlDisabled(): Apollo's default cache-control
 *                       plugin hooks willResolveField on EVERY field, which also makes Apollo wrap
 *                       every resolver of the schema (schemaInstrumentation) for every request.
 *   complexity-cache    the complexity estimate memoised per (query text, variables): the same
 *                       document costs the same every time.
 *   lean-graphql        no Apollo: express.json → cached parse + validate (same depth limit) →
 *                       memoised complexity → graphql-js execute → JSON. The same schema, context,
 *                       loaders and error format; what Apollo's pipeline costs per request.
 */
import type { Server } from "node:http";
import { ApolloServer, type ApolloServerPlugin } from "@apollo/server";
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { expressMiddleware } from "@as-integrations/express5";
import express from "express";
import depthLimit from "graphql-depth-limit";
import {
  type DocumentNode,
  execute,
  type GraphQLFormattedError,
  GraphQLError,
  type GraphQLSchema,
  parse,
  specifiedRules,
  validate,
} from "graphql";
import { fieldExtensionsEstimator, getComplexity, simpleEstimator } from "graphql-query-complexity";
import type { Logger, Store } from "@arbor/store";
import { complexityLimitPlugin } from "../../../../apps/api/src/complexity.plugin.ts";
import { createContext, createServices, type Context } from "../../../../apps/api/src/context.ts";
import { MAX_BODY_BYTES, MAX_QUERY_COMPLEXITY, MAX_QUERY_DEPTH } from "../../../../apps/api/src/limits.ts";
import { buildApiSchema } from "../../../../apps/api/src/schema.ts";

export type GraphqlPatch = "no-cache-control" | "complexity-cache" | "lean-graphql";
export const GRAPHQL_PATCHES: readonly GraphqlPatch[] = ["no-cache-control", "complexity-cache", "lean-graphql"];

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

/** A bounded memo: the oldest entry goes when full (queries repeat; a map of a few thousand is plenty). */
class Memo<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly max: number) {}
  get(key: string, make: () => V): V {
    let value = this.map.get(key);
    if (value === undefined) {
      value = make();
      if (this.map.size >= this.max) this.map.delete(this.map.keys().next().value!);
      this.map.set(key, value);
    }
    return value;
  }
}

function complexityOf(schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown>, operationName: string | undefined): number {
  return getComplexity({
    schema,
    query: document,
    variables,
    operationName,
    estimators: [fieldExtensionsEstimator(), simpleEstimator({ defaultComplexity: 1 })],
  });
}

function tooComplex(complexity: number): GraphQLError {
  return new GraphQLError(`query is too complex: ${complexity} > ${MAX_QUERY_COMPLEXITY}`, {
    extensions: { code: "QUERY_TOO_COMPLEX", complexity, max: MAX_QUERY_COMPLEXITY },
  });
}

/** complexityLimitPlugin with the estimate memoised per (query, operation, variables). */
function memoisedComplexityPlugin(schema: GraphQLSchema): ApolloServerPlugin {
  const memo = new Memo<number>(5000);
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document }) {
          const variables = request.variables ?? {};
          const key = `${request.operationName ?? ""}\u0000${JSON.stringify(variables)}\u0000${request.query ?? ""}`;
          const complexity = memo.get(key, () => complexityOf(schema, document, variables, request.operationName ?? undefined));
          if (complexity > MAX_QUERY_COMPLEXITY) throw tooComplex(complexity);
        },
      };
    },
  };
}

function healthRoutes(app: express.Express, store: Store): void {
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
}

export interface PrototypeApp {
  app: express.Express;
  stop(): Promise<void>;
}

export async function createPrototypeApp(store: Store, log: Logger, httpServer: Server, patches: ReadonlySet<GraphqlPatch>, defaultModelVersionId?: number): Promise<PrototypeApp> {
  const schema = await buildApiSchema();
  const services = createServices(store, defaultModelVersionId);
  const app = express();
  healthRoutes(app, store);
  if (patches.has("lean-graphql")) {
    mountLeanGraphql(app, schema, store, services, log);
    return { app, stop: async () => undefined };
  }
  const apollo = new ApolloServer<Context>({
    schema,
    introspection: true,
    validationRules: [depthLimit(MAX_QUERY_DEPTH)],
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      ApolloServerPluginLandingPageDisabled(),
      patches.has("complexity-cache") ? memoisedComplexityPlugin(schema) : complexityLimitPlugin(schema),
      ...(patches.has("no-cache-control") ? [ApolloServerPluginCacheControlDisabled()] : []),
    ],
    formatError: formatError(log),
    includeStacktraceInErrorResponses: false,
  });
  await apollo.start();
  app.use(
    "/graphql",
    express.json({ limit: MAX_BODY_BYTES }),
    expressMiddleware(apollo, { context: async ({ req }) => createContext(store, services, log, req.header("x-request-id")) }),
  );
  return { app, stop: () => apollo.stop() };
}

/** POST /graphql straight onto graphql-js, keeping the API's limits and error format. */
function mountLeanGraphql(app: express.Express, schema: GraphQLSchema, store: Store, services: ReturnType<typeof createServices>, log: Logger): void {
  const rules = [...specifiedRules, depthLimit(MAX_QUERY_DEPTH)];
  const documents = new Memo<{ document?: DocumentNode; errors?: readonly GraphQLError[] }>(1000);
  const complexities = new Memo<number>(5000);
  const format = formatError(log);
  const reply = (res: express.Response, status: number, errors: readonly GraphQLError[]) =>
    res.status(status).json({ errors: errors.map((error) => format(error.toJSON(), error)) });

  app.post("/graphql", express.json({ limit: MAX_BODY_BYTES }), async (req, res, next) => {
    try {
      const { query, variables = {}, operationName } = (req.body ?? {}) as { query?: unknown; variables?: Record<string, unknown>; operationName?: string };
      if (typeof query !== "string") return reply(res, 400, [new GraphQLError("POST body must contain a query string", { extensions: { code: "BAD_REQUEST" } })]);
      const parsed = documents.get(query, () => {
        try {
          const document = parse(query);
          const errors = validate(schema, document, rules);
          return errors.length > 0 ? { errors } : { document };
        } catch (error) {
          return { errors: [error as GraphQLError] };
        }
      });
      if (!parsed.document) return reply(res, 400, parsed.errors!);
      const complexity = complexities.get(`${operationName ?? ""}\u0000${JSON.stringify(variables)}\u0000${query}`, () =>
        complexityOf(schema, parsed.document!, variables, operationName),
      );
      if (complexity > MAX_QUERY_COMPLEXITY) return reply(res, 400, [tooComplex(complexity)]);
      const result = await execute({
        schema,
        document: parsed.document,
        variableValues: variables,
        operationName,
        contextValue: createContext(store, services, log, req.header("x-request-id")),
      });
      const body: { data?: unknown; errors?: GraphQLFormattedError[] } = {};
      if (result.errors) body.errors = result.errors.map((error) => format(error.toJSON(), error));
      body.data = result.data;
      res.json(result.errors ? { errors: body.errors, data: body.data } : { data: body.data });
    } catch (error) {
      next(error);
    }
  });
}
