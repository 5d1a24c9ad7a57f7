// `prisma generate` needs no engine binary with the prisma-client generator, but the CLI still
// tries to download the schema engine unless this variable names an existing file.
import { execFileSync } from "node:child_process";

process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= process.execPath;
execFileSync("npx", ["prisma", "generate"], { stdio: "inherit", env: process.env });
