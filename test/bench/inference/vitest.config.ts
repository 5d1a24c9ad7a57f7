import { defineConfig } from "vitest/config";

// Unit tests of the inference benchmarks' helpers (test/bench/inference/test). Like test/bench's own,
// they are outside `npm test`: npx vitest run --config test/bench/inference/vitest.config.ts
export default defineConfig({
  test: {
    root: new URL(".", import.meta.url).pathname,
    include: ["test/**/*.spec.ts"],
    testTimeout: 60_000,
  },
});
