// Writes apps/api/schema.graphql, the committed contract; CI fails when it is stale.
import { fileURLToPath } from "node:url";
import { buildApiSchema } from "./schema.ts";

const target = fileURLToPath(new URL("../schema.graphql", import.meta.url));
await buildApiSchema(target);
console.log(`wrote ${target}`);
