import { z } from "zod";

// Every setting the API reads, in one place; README "Configuration" lists the same table.
const ConfigSchema = z.object({
  DATABASE_URL: z.string().url(),
  API_HOST: z.string().default("127.0.0.1"),
  API_PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  DB_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
  /** Model version for embedding queries when a request names none; default: the active one. */
  DEFAULT_MODEL_VERSION_ID: z.coerce.number().int().positive().optional(),
});

export type ApiConfig = {
  databaseUrl: string;
  host: string;
  port: number;
  dbPoolSize: number;
  logLevel: string;
  defaultModelVersionId?: number;
};

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ");
    throw new Error(`invalid API configuration: ${problems}`);
  }
  const c = parsed.data;
  return {
    databaseUrl: c.DATABASE_URL,
    host: c.API_HOST,
    port: c.API_PORT,
    dbPoolSize: c.DB_POOL_SIZE,
    logLevel: c.LOG_LEVEL,
    defaultModelVersionId: c.DEFAULT_MODEL_VERSION_ID,
  };
}
