import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["**/test/**/*.spec.ts"],
    exclude: ["**/node_modules/**", "test/bench/**"],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Two cores: test files each start a database; more workers only thrash.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
