import type { ApolloServerPlugin } from "@apollo/server";
import type { Context } from "./context.ts";

/** One structured line per GraphQL operation: name, duration, outcome, request id. */
export function requestLogPlugin(): ApolloServerPlugin<Context> {
  return {
    async requestDidStart({ contextValue }) {
      const startedAt = performance.now();
      return {
        async willSendResponse({ request, errors }) {
          contextValue.log.info(
            {
              operation: request.operationName ?? null,
              durationMs: Math.round((performance.now() - startedAt) * 10) / 10,
              errors: errors?.map((error) => error.extensions?.code ?? "ERROR"),
            },
            "graphql request",
          );
        },
      };
    },
  };
}
