import "reflect-metadata";
import { buildSchema } from "type-graphql";
import type { GraphQLSchema } from "graphql";
import { resolvers } from "./resolvers/index.ts";

/**
 * Every @ObjectType sets `simpleResolvers: true`: the schema has no middlewares or auth checks, so
 * type-graphql's wrapper around each plain property only costs (≈ 200 of them on a taxon page);
 * such fields resolve as plain property reads (getters included).
 */
export function buildApiSchema(emitSchemaFile?: string): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers,
    // Arguments are validated explicitly where their limits live (limits.ts); no class-validator.
    validate: false,
    emitSchemaFile: emitSchemaFile ? { path: emitSchemaFile, sortedSchema: true } : false,
  });
}
