import "reflect-metadata";
import { buildSchema } from "type-graphql";
import type { GraphQLSchema } from "graphql";
import { resolvers } from "./resolvers/index.ts";

export function buildApiSchema(emitSchemaFile?: string): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers,
    // Arguments are validated explicitly where their limits live (limits.ts); no class-validator.
    validate: false,
    emitSchemaFile: emitSchemaFile ? { path: emitSchemaFile, sortedSchema: true } : false,
  });
}
