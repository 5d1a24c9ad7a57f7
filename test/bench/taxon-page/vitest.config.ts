import { defineConfig } from "vitest/config";

// Unit tests of the taxon-page benchmark's helpers (no database):
//   npx vitest run --config test/bench/taxon-page/vitest.config.ts
export default defineConfig({
  test: {
    root: new URL(".", import.meta.url).pathname,
    include: ["test/**/*.spec.ts"],
    testTimeout: 60_000,
  },
});
