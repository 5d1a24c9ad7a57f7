import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createLogger, type Store } from "@arbor/store";
import { createApiApp } from "../../apps/api/src/server.ts";

export interface TestApi {
  url: string;
  /** POSTs a GraphQL operation; returns the parsed body and HTTP status. */
  gql<T = any>(query: string, variables?: Record<string, unknown>): Promise<{ status: number; data?: T; errors?: Array<{ message: string; path?: Array<string | number>; extensions?: Record<string, unknown> }> }>;
  close(): Promise<void>;
}

export async function startTestApi(store: Store): Promise<TestApi> {
  const httpServer = createServer();
  const { app, apollo } = await createApiApp(store, createLogger("api-test", "silent"), httpServer);
  httpServer.on("request", app);
  await new Promise<void>((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
  return {
    url,
    async gql(query, variables) {
      const response = await fetch(`${url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query, variables }),
      });
      return { status: response.status, ...(await response.json()) };
    },
    async close() {
      await apollo.stop();
    },
  };
}
