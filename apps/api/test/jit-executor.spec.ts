import { createRequire } from "node:module";
import type { DocumentNode, ExecutionResult } from "graphql";
import { compileQuery } from "graphql-jit";
import { describe, expect, it, vi } from "vitest";
import { jitGateway } from "../src/jit-executor.ts";

vi.mock("graphql-jit", async (importOriginal) => {
  const jit = await importOriginal<typeof import("graphql-jit")>();
  return { ...jit, compileQuery: vi.fn(jit.compileQuery) };
});

// The schema must come from the graphql-js instance the executor and graphql-jit use (see jit-executor.ts).
const graphql = createRequire(import.meta.url)("graphql") as typeof import("graphql");
const { GraphQLError, GraphQLInt, GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLSchema, GraphQLString, execute, parse } = graphql;

const Item: import("graphql").GraphQLObjectType = new GraphQLObjectType({
  name: "Item",
  fields: () => ({
    id: { type: new GraphQLNonNull(GraphQLInt) },
    name: { type: GraphQLString, resolve: async (item: { id: number }) => `item ${item.id}` },
    strict: {
      type: new GraphQLNonNull(GraphQLString),
      resolve: (item: { id: number }) => {
        if (item.id === 2) throw new GraphQLError("no strict value", { extensions: { code: "BAD_USER_INPUT", field: "strict" } });
        return "ok";
      },
    },
  }),
});

const schema = new GraphQLSchema({
  query: new GraphQLObjectType({
    name: "Query",
    fields: {
      items: {
        type: new GraphQLNonNull(new GraphQLList(Item)),
        args: { first: { type: new GraphQLNonNull(GraphQLInt) } },
        resolve: (_root, args: { first: number }, context: { calls: number }) => {
          context.calls++;
          return Array.from({ length: args.first }, (_, i) => ({ id: i + 1 }));
        },
      },
    },
  }),
});

async function executor() {
  const loaded = await jitGateway(schema).load({ apollo: { key: undefined, keyHash: undefined, graphRef: undefined } as never });
  return (document: DocumentNode, variables: Record<string, unknown>, context: { calls: number }) =>
    loaded.executor!({ document, request: { variables }, context } as never) as Promise<ExecutionResult>;
}

/** What a client would see of a result: JSON, with each error's message, locations, path and extensions. */
const asJson = (result: ExecutionResult) => JSON.parse(JSON.stringify({ data: result.data, errors: result.errors?.map((error) => error.toJSON()) }));

describe("graphql-jit executor", () => {
  const query = parse(`query($n: Int!) { items(first: $n) { id name strict } }`);

  it("returns what graphql-js returns, errors and null propagation included", async () => {
    const run = await executor();
    for (const n of [1, 3]) {
      const jit = await run(query, { n }, { calls: 0 });
      const reference = await execute({ schema, document: query, variableValues: { n }, contextValue: { calls: 0 } });
      expect(asJson(jit), `first: ${n}`).toEqual(asJson(reference));
    }
    const withError = await run(query, { n: 3 }, { calls: 0 });
    expect(withError.data).toEqual({ items: [{ id: 1, name: "item 1", strict: "ok" }, null, { id: 3, name: "item 3", strict: "ok" }] });
    expect(withError.errors?.[0]).toMatchObject({ path: ["items", 1, "strict"], extensions: { code: "BAD_USER_INPUT", field: "strict" } });
  });

  it("answers variables that do not coerce exactly as graphql-js, AST nodes included, without running a resolver", async () => {
    const run = await executor();
    for (const variables of [{ n: "three" }, {}, { n: null }, { n: 1.5 }]) {
      const context = { calls: 0 };
      const jit = await run(query, variables, context);
      const reference = await execute({ schema, document: query, variableValues: variables, contextValue: { calls: 0 } });
      expect(asJson(jit), JSON.stringify(variables)).toEqual(asJson(reference));
      expect(jit.errors?.[0]?.nodes?.[0]?.kind, JSON.stringify(variables)).toBe("VariableDefinition");
      expect(context.calls).toBe(0);
    }
  });

  it("runs a document on graphql-js first and compiles it once when it comes again", async () => {
    const run = await executor();
    const document = parse(`{ items(first: 2) { id } }`);
    vi.mocked(compileQuery).mockClear();
    for (let i = 0; i < 4; i++) expect(await run(document, {}, { calls: 0 })).toEqual({ data: { items: [{ id: 1 }, { id: 2 }] } });
    expect(vi.mocked(compileQuery)).toHaveBeenCalledTimes(1);
  });

  it("reports an unknown operation name as graphql-js does", async () => {
    const run = await executor();
    const document = parse(`query A { items(first: 1) { id } }`);
    const loaded = await jitGateway(schema).load({ apollo: {} as never });
    const jit = (await loaded.executor!({ document, request: { operationName: "B", variables: {} }, context: { calls: 0 } } as never)) as ExecutionResult;
    const reference = await execute({ schema, document, operationName: "B", contextValue: { calls: 0 } });
    expect(asJson(jit)).toEqual(asJson(reference));
    expect(asJson(await run(document, {}, { calls: 0 }))).toEqual({ data: { items: [{ id: 1 }] } });
  });
});
