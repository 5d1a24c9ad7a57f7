import type { ApolloServerPlugin } from "@apollo/server";
import { type ASTNode, type DocumentNode, GraphQLError, type GraphQLSchema, Kind } from "graphql";
import { fieldExtensionsEstimator, getComplexity, simpleEstimator } from "graphql-query-complexity";
import { MAX_QUERY_COMPLEXITY } from "./limits.ts";

// Clients repeat the same documents: the estimate of (document, variables, operation) is memoised
// (≈ 110 µs a request otherwise, in the taxon-page benchmark profile).
const MEMO_ENTRIES = 2_000;

function estimate(schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown>, operationName: string | undefined): number {
  try {
    return getComplexity({ schema, query: document, variables, operationName, estimators: [fieldExtensionsEstimator(), simpleEstimator({ defaultComplexity: 1 })] });
  } catch (error) {
    // The estimate coerces the variables first: one that does not coerce is the client's mistake,
    // answered as graphql-js execution would (400, BAD_USER_INPUT), not as an internal error.
    // Checked by shape: the error comes from graphql-js as graphql-query-complexity loads it.
    const nodes = (error as { nodes?: readonly ASTNode[] }).nodes;
    if (nodes?.[0]?.kind === Kind.VARIABLE_DEFINITION) {
      throw new GraphQLError((error as Error).message, { nodes, extensions: { code: "BAD_USER_INPUT", http: { status: 400 } } });
    }
    throw error;
  }
}

/** Refuses an operation whose estimated cost exceeds MAX_QUERY_COMPLEXITY before anything runs. */
export function complexityLimitPlugin(schema: GraphQLSchema): ApolloServerPlugin {
  const memo = new Map<string, number>();
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document, queryHash }) {
          // queryHash: Apollo's sha256 of the query text, so the key does not repeat the text.
          const key = queryHash ? JSON.stringify([queryHash, request.variables ?? {}, request.operationName ?? null]) : undefined;
          let complexity = key === undefined ? undefined : memo.get(key);
          if (complexity === undefined) {
            complexity = estimate(schema, document, request.variables ?? {}, request.operationName ?? undefined);
            if (key !== undefined) {
              if (memo.size >= MEMO_ENTRIES) memo.delete(memo.keys().next().value!);
              memo.set(key, complexity);
            }
          }
          if (complexity > MAX_QUERY_COMPLEXITY) {
            throw new GraphQLError(`query is too complex: ${complexity} > ${MAX_QUERY_COMPLEXITY}`, {
              extensions: { code: "QUERY_TOO_COMPLEX", complexity, max: MAX_QUERY_COMPLEXITY },
            });
          }
        },
      };
    },
  };
}
