import type { ApolloServerPlugin } from "@apollo/server";
import { GraphQLError, type GraphQLSchema } from "graphql";
import { fieldExtensionsEstimator, getComplexity, simpleEstimator } from "graphql-query-complexity";
import { MAX_QUERY_COMPLEXITY } from "./limits.ts";

/** Refuses an operation whose estimated cost exceeds MAX_QUERY_COMPLEXITY before anything runs. */
export function complexityLimitPlugin(schema: GraphQLSchema): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document }) {
          const complexity = getComplexity({
            schema,
            query: document,
            variables: request.variables ?? {},
            operationName: request.operationName ?? undefined,
            estimators: [fieldExtensionsEstimator(), simpleEstimator({ defaultComplexity: 1 })],
          });
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
