import { defineConfig } from "vitest/config";

// The root config leaves test/bench out of `npm test`; the benchmark helpers' own unit tests run
// with: npx vitest run --config test/bench/vitest.config.ts
export default defineConfig({
  test: {
    root: new URL(".", import.meta.url).pathname,
    include: ["test/**/*.spec.ts"],
    testTimeout: 60_000,
  },
});
