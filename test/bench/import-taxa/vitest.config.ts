import { defineConfig } from "vitest/config";

// The import-taxa benchmark's own unit tests (the synthetic tree and its CSV files):
//   npx vitest run --config test/bench/import-taxa/vitest.config.ts
export default defineConfig({
  test: {
    root: new URL(".", import.meta.url).pathname,
    include: ["test/**/*.spec.ts"],
    testTimeout: 60_000,
  },
});
