import { createRequire } from "node:module";

/**
 * graphql-js as type-graphql, Apollo and graphql-jit load it (its CommonJS build). A test runner that
 * resolves `import "graphql"` to the ESM build would hand code that checks types with `instanceof`
 * (getArgumentValues, which the taxon-page look-ahead calls) schema objects of another module
 * instance, which graphql-js refuses or misreads. Type-only imports from "graphql" are fine anywhere.
 */
export const graphqlCjs = createRequire(import.meta.url)("graphql") as typeof import("graphql");
