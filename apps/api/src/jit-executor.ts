import type { ApolloServerOptionsWithGateway, BaseContext } from "@apollo/server";
import type { DocumentNode, ExecutionResult, GraphQLSchema } from "graphql";
import { compileQuery, type CompiledQuery, isCompiledQuery } from "graphql-jit";
import { graphqlCjs } from "./graphql-cjs.ts";

const { execute, printSchema } = graphqlCjs;

type Gateway = ApolloServerOptionsWithGateway<BaseContext>["gateway"];
/** Per operation of a document: null once it ran on graphql-js, then what graphql-jit made of it. */
type Compiled = CompiledQuery | ExecutionResult | null;

/** Operations remembered per parsed document (Apollo's document store hands out the same DocumentNode for the same query text). */
const MAX_OPERATIONS_PER_DOCUMENT = 16;

/**
 * Apollo Server executing operations with graphql-jit instead of graphql-js `execute`: a document
 * seen again is compiled once into a function that resolves the selection without graphql-js's
 * per-field bookkeeping (resolve info, argument coercion, path objects): ≈ 0.2 ms less CPU per
 * taxon page in the taxon-page benchmark. Compiling costs about as much as parsing and validating
 * (≈ 0.5 ms for the taxon page), so a document's first run is on graphql-js: a client that sends a
 * new query text each time pays no compile. Apollo's only hook for another executor is the gateway
 * interface, so this is a "gateway" serving the local schema; parsing, validation, plugins, limits
 * and error formatting stay Apollo's.
 *
 * graphql-jit reports request errors (variables that do not coerce) without the AST nodes Apollo
 * reads to tag them BAD_USER_INPUT, and with other wording: such requests are re-run on graphql-js,
 * which coerces variables before calling any resolver, so their response is graphql-js's own.
 */
export function jitGateway(schema: GraphQLSchema): Gateway {
  const compiledByDocument = new WeakMap<DocumentNode, Map<string | undefined, Compiled>>();

  /** The compiled operation, or undefined when it is to run on graphql-js. */
  function compiled(document: DocumentNode, operationName: string | undefined): CompiledQuery | undefined {
    let operations = compiledByDocument.get(document);
    if (!operations) compiledByDocument.set(document, (operations = new Map()));
    if (!operations.has(operationName)) {
      if (operations.size >= MAX_OPERATIONS_PER_DOCUMENT) operations.delete(operations.keys().next().value);
      operations.set(operationName, null);
      return undefined;
    }
    let query = operations.get(operationName)!;
    if (query === null) operations.set(operationName, (query = compileQuery(schema, document, operationName)));
    return isCompiledQuery(query) ? query : undefined;
  }

  return {
    async load() {
      return {
        schema,
        executor: async ({ document, request, context }) => {
          const operationName = request.operationName ?? undefined;
          const variables = request.variables ?? {};
          const query = compiled(document, operationName);
          if (query) {
            const result = await query.query(undefined, context, variables);
            if (result.data !== undefined) return result;
          }
          return execute({ schema, document, contextValue: context, variableValues: variables, operationName });
        },
      };
    },
    onSchemaLoadOrUpdate(callback) {
      callback({ apiSchema: schema, coreSupergraphSdl: printSchema(schema) });
      return () => undefined;
    },
    async stop() {},
  };
}
