import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { InferenceClient } from "../../../services/inference/src/client.ts";
import type { Progress } from "../lib/progress.ts";
import { REPO_ROOT } from "./image-inputs.ts";

const MAIN = join(REPO_ROOT, "services", "inference", "src", "main.ts");
const STDERR_TAIL_CHARS = 4000;

export interface ServiceProcess {
  pid: number;
  baseUrl: string;
  /** The environment the service was started with (the benchmark's settings only). */
  env: Record<string, string>;
  stderrTail(): string;
  /** SIGTERM (graceful shutdown), then SIGKILL after `graceMs`. Resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => (address && typeof address === "object" ? resolve(address.port) : reject(new Error("no free port"))));
    });
  });
}

/**
 * Starts the inference service as its own process, exactly as deployed
 * (`node --import tsx services/inference/src/main.ts` with environment variables), and waits until
 * /readyz answers 200 (the model package is loaded).
 */
export async function startService(
  env: Record<string, string>,
  options: { nodeArgs?: string[]; startTimeoutMs?: number } = {},
): Promise<ServiceProcess> {
  const port = await freePort();
  const fullEnv = { ...env, INFERENCE_HOST: "127.0.0.1", INFERENCE_PORT: String(port), MODEL_LOAD: "eager" };
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), "--import", "tsx", MAIN], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...fullEnv },
    // Logs go to a pipe that is drained and dropped, as a log shipper would read them.
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.resume();
  let tail = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (text: string) => {
    tail = (tail + text).slice(-STDERR_TAIL_CHARS);
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let alive = true;
  void exited.then(() => (alive = false));

  const baseUrl = `http://127.0.0.1:${port}`;
  const timeoutMs = options.startTimeoutMs ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!alive) throw new Error(`the inference service exited during start-up:\n${tail}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`the inference service was not ready within ${timeoutMs} ms:\n${tail}`);
    }
    try {
      const response = await fetch(`${baseUrl}/readyz`);
      await response.arrayBuffer();
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { pid: child.pid!, baseUrl, env: fullEnv, stderrTail: () => tail, stop: (graceMs = 30_000) => stop(child, exited, graceMs) };
}

async function stop(child: ChildProcess, exited: Promise<number | null>, graceMs: number): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return exited;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  try {
    return await exited;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Waits until the service has built its species catalog (GET /v1/classify/status), logging the build's progress.
 * A model's first start embeds the candidate species list (400 species × 80 templates) in the background — seconds
 * with the stand-in, ≈ 12 minutes with ViT-L/14 int8 here — and caches it; measured during that build, the service
 * would share its cores with it. A catalog that failed to build takes no CPU: that is logged, not waited for.
 */
export async function waitForClassifier(service: ServiceProcess, progress: Progress, timeoutMs = 60 * 60_000): Promise<void> {
  const client = new InferenceClient({ baseUrl: service.baseUrl });
  const deadline = Date.now() + timeoutMs;
  let lastLog = 0;
  for (;;) {
    const status = await client.classifierStatus();
    if (status.status === "ready") return;
    if (status.status === "failed") {
      progress.log(`the service's species catalog failed to build (${status.error}); measuring anyway`);
      return;
    }
    if (Date.now() > deadline) throw new Error(`the service's species catalog was not built within ${timeoutMs} ms`);
    if (Date.now() - lastLog >= 10_000) {
      lastLog = Date.now();
      const step = status.progress ? `: ${status.progress.step}, ${status.progress.done}/${status.progress.total} ${status.progress.unit}` : "";
      progress.log(`waiting for the service's species catalog (${status.status})${step}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
