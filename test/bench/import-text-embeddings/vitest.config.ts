import { defineConfig } from "vitest/config";

// Unit tests of the import-text-embeddings benchmark's helpers (the synthetic official files; no database):
//   npx vitest run --config test/bench/import-text-embeddings/vitest.config.ts
export default defineConfig({
  test: {
    root: new URL(".", import.meta.url).pathname,
    include: ["test/**/*.spec.ts"],
    testTimeout: 60_000,
  },
});
