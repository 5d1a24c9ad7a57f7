// The real inference service, started as a child process on port 0 over the committed stand-in
// package (models/arbor-standin-v1: random weights, NOT BioCLIP 2), exactly as it is deployed:
// `node --import tsx services/inference/src/main.ts`.
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../../../../", import.meta.url));

export interface InferenceService {
  url: string;
  stop(): Promise<void>;
}

export async function startInferenceService(): Promise<InferenceService> {
  const child = spawn(process.execPath, ["--import", "tsx", "services/inference/src/main.ts"], {
    cwd: REPO_ROOT,
    env: { ...process.env, INFERENCE_HOST: "127.0.0.1", INFERENCE_PORT: "0", MODEL_LOAD: "eager", LOG_LEVEL: "info", MODEL_DIR: "models/arbor-standin-v1" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  const output: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stderr! });
    lines.on("line", (line) => {
      output.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === "inference service listening" && entry.url) resolve(entry.url);
      } catch {
        // not a log line
      }
    });
    child.once("exit", (code) => reject(new Error(`the inference service exited (${code}) before listening:\n${output.join("\n")}`)));
  });
  await waitUntilReady(url, child);
  return { url, stop: () => stopChild(child) };
}

async function waitUntilReady(url: string, child: ChildProcess): Promise<void> {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the inference service exited (${child.exitCode})`);
    const response = await fetch(`${url}/readyz`).catch(() => null);
    if (response?.ok) return;
    const body = (await response?.json().catch(() => null)) as { status?: string } | null;
    if (body?.status === "failed") throw new Error("the stand-in model failed to load");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}
