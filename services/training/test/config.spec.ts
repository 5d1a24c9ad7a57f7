import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.ts";

describe("loadConfig", () => {
  it("has working defaults: embedded database, local inference, every job", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      databaseUrl: undefined,
      dataDir: ".arbor/data",
      inferenceUrl: "http://127.0.0.1:4100",
      inferenceMaxTextsPerRequest: 128,
      inferenceConcurrency: 2,
      jobNames: ["embed-taxa-text", "import-text-embeddings"],
      heartbeatIntervalMs: 10_000,
      lockTimeoutMs: 120_000,
    });
    expect(config.workerId).toMatch(/:\d+$/);
  });

  it("reads the variables, treating empty ones as unset", () => {
    const config = loadConfig({ DATABASE_URL: "postgresql://u@db:5432/arbor", WORKER_JOBS: " import-text-embeddings ", WORKER_ID: "w1", INFERENCE_URL: "", JOB_LOCK_TIMEOUT_MS: "60000" });
    expect(config).toMatchObject({ databaseUrl: "postgresql://u@db:5432/arbor", jobNames: ["import-text-embeddings"], workerId: "w1", inferenceUrl: "http://127.0.0.1:4100", lockTimeoutMs: 60_000 });
  });

  it("names every bad variable", () => {
    let error: ConfigError | undefined;
    try {
      loadConfig({ WORKER_JOBS: "embed-taxa-text,retrain", DB_POOL_SIZE: "zero" });
    } catch (caught) {
      error = caught as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.message).toMatch(/WORKER_JOBS.*job names are embed-taxa-text, import-text-embeddings/);
    expect(error!.message).toContain("DB_POOL_SIZE");
    // Checked once every variable is valid on its own.
    expect(() => loadConfig({ JOB_HEARTBEAT_INTERVAL_MS: "50000" })).toThrow("JOB_LOCK_TIMEOUT_MS: must be at least 3 × JOB_HEARTBEAT_INTERVAL_MS (150000)");
  });
});
