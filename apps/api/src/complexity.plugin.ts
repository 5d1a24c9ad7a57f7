import type { ApolloServerPlugin } from "@apollo/server";
import { GraphQLError, type GraphQLSchema } from "graphql";
import { fieldExtensionsEstimator, getComplexity, simpleEstimator } from "graphql-query-complexity";
import { MAX_QUERY_COMPLEXITY } from "./limits.ts";

// Clients repeat the same documents: the estimate of (document, variables, operation) is memoised
// (≈ 110 µs a request otherwise, in the taxon-page benchmark profile).
const MEMO_ENTRIES = 2_000;

/** Refuses an operation whose estimated cost exceeds MAX_QUERY_COMPLEXITY before anything runs. */
export function complexityLimitPlugin(schema: GraphQLSchema): ApolloServerPlugin {
  const memo = new Map<string, number>();
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document }) {
          const key = request.query ? JSON.stringify([request.query, request.variables ?? {}, request.operationName ?? null]) : undefined;
          let complexity = key === undefined ? undefined : memo.get(key);
          if (complexity === undefined) {
            complexity = getComplexity({
              schema,
              query: document,
              variables: request.variables ?? {},
              operationName: request.operationName ?? undefined,
              estimators: [fieldExtensionsEstimator(), simpleEstimator({ defaultComplexity: 1 })],
            });
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
