import { ApolloServer } from "@apollo/server";
import { GraphQLError } from "graphql";
import { compileQuery } from "graphql-jit";
import { describe, expect, it } from "vitest";
import { compiledExecutionPlugin } from "../src/compiled-execution.plugin.ts";
import { graphqlCjs } from "../src/graphql-cjs.ts";

const schema = graphqlCjs.buildSchema(`
  type Query { bird(id: Int!): Bird, birds: [Bird!]! }
  type Bird { id: Int!, name: String!, mass: Float, secret: String! }
  type Mutation { rename(id: Int!, name: String!): Bird }
`);
const BIRDS = [
  { id: 1, name: "Corvus corax", mass: 1.2 },
  { id: 2, name: "Pica pica", mass: null },
];
Object.assign(schema.getQueryType()!.getFields().bird!, { resolve: (_: unknown, { id }: { id: number }) => BIRDS.find((b) => b.id === id) ?? null });
Object.assign(schema.getQueryType()!.getFields().birds!, { resolve: () => BIRDS });
Object.assign((schema.getType("Bird") as import("graphql").GraphQLObjectType).getFields().secret!, {
  resolve: () => {
    throw new GraphQLError("not for you", { extensions: { code: "FORBIDDEN" } });
  },
});
Object.assign(schema.getMutationType()!.getFields().rename!, { resolve: (_: unknown, { id, name }: { id: number; name: string }) => ({ ...BIRDS.find((b) => b.id === id)!, name }) });

/** An Apollo server with the plugin, counting what graphql-jit compiled and how often compiled queries ran. */
async function server() {
  const counts = { compiled: 0, compiledRuns: 0 };
  const countingCompile: typeof compileQuery = (...args) => {
    counts.compiled++;
    const compiled = compileQuery(...args);
    if (!("query" in compiled)) return compiled;
    const query = compiled.query;
    return Object.assign(compiled, { query: (...queryArgs: Parameters<typeof query>) => (counts.compiledRuns++, query(...queryArgs)) });
  };
  const apollo = new ApolloServer({ schema, plugins: [compiledExecutionPlugin(schema, countingCompile)] });
  await apollo.start();
  const run = async (query: string, variables?: Record<string, unknown>) => {
    const { body, http } = await apollo.executeOperation({ query, variables });
    return { status: http.status, body: body.kind === "single" ? body.singleResult : null };
  };
  return { apollo, counts, run };
}

describe("compiled execution plugin", () => {
  it("answers a query from its compiled form from the second run on, with graphql-js's response", async () => {
    const { apollo, counts, run } = await server();
    const query = `query($id: Int!) { bird(id: $id) { id name mass } birds { name } }`;
    const first = await run(query, { id: 1 });
    expect(counts).toEqual({ compiled: 0, compiledRuns: 0 });
    const second = await run(query, { id: 1 });
    const third = await run(query, { id: 2 });
    expect(counts).toEqual({ compiled: 1, compiledRuns: 2 });
    expect(second).toEqual(first);
    expect(first.body).toEqual({ data: { bird: { id: 1, name: "Corvus corax", mass: 1.2 }, birds: [{ name: "Corvus corax" }, { name: "Pica pica" }] } });
    expect(third.body).toEqual({ data: { bird: { id: 2, name: "Pica pica", mass: null }, birds: [{ name: "Corvus corax" }, { name: "Pica pica" }] } });
    expect(JSON.stringify(second.body)).toBe(JSON.stringify(first.body));
    await apollo.stop();
  });

  it("leaves every response with errors to graphql-js, so errors read as without the plugin", async () => {
    const { apollo, counts, run } = await server();
    for (const [query, variables] of [
      [`{ bird(id: 1) { name secret } }`, undefined],
      [`query($id: Int!) { bird(id: $id) { name } }`, { id: "one" }],
      [`query($id: Int!) { bird(id: $id) { name } }`, {}],
    ] as const) {
      const answers = [];
      for (let i = 0; i < 3; i++) answers.push(await run(query, variables));
      expect(answers[1]).toEqual(answers[0]);
      expect(answers[2]).toEqual(answers[0]);
      expect(answers[0]!.body!.errors?.length).toBe(1);
    }
    const [forbidden] = (await run(`{ bird(id: 1) { name secret } }`)).body!.errors!;
    expect(forbidden).toMatchObject({ message: "not for you", path: ["bird", "secret"], extensions: { code: "FORBIDDEN" } });
    const [badVariable] = (await run(`query($id: Int!) { bird(id: $id) { name } }`, { id: "one" })).body!.errors!;
    expect(badVariable!.extensions!.code).toBe("BAD_USER_INPUT");
    expect(counts.compiledRuns).toBeGreaterThan(0); // they ran compiled, then again on graphql-js
    await apollo.stop();
  });

  it("runs mutations on graphql-js", async () => {
    const { apollo, counts, run } = await server();
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await run(`mutation { rename(id: 2, name: "Pica serica") { id name } }`));
    expect(answers.map((a) => a.body)).toEqual(Array(3).fill({ data: { rename: { id: 2, name: "Pica serica" } } }));
    expect(counts).toEqual({ compiled: 0, compiledRuns: 0 });
    await apollo.stop();
  });
});
