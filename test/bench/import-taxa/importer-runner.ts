import { spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ImporterRunRequest, ImporterRunResult } from "./importer-process.ts";

const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const PROCESS_SCRIPT = fileURLToPath(new URL("./importer-process.ts", import.meta.url));

export interface ImporterRun extends ImporterRunResult {
  /** Wall time of the child process, start-up (Node + tsx) included. */
  processMs: number;
}

/** Runs importer-process.ts in a child process and returns its result; stderr is passed through on failure. */
export async function runImporter(request: Omit<ImporterRunRequest, "resultPath">, workDir: string, onLine?: (line: string) => void): Promise<ImporterRun> {
  const resultPath = join(workDir, `importer-result-${process.pid}-${Date.now()}.json`);
  const start = performance.now();
  const stderr: string[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", PROCESS_SCRIPT, JSON.stringify({ ...request, resultPath })], {
      cwd: REPO_ROOT,
      stdio: ["ignore", "inherit", "pipe"],
      env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? "warn" },
    });
    let pending = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const line of lines) {
        stderr.push(line);
        if (stderr.length > 200) stderr.shift();
        onLine?.(line);
      }
    });
    child.on("error", reject);
    child.on("close", resolve);
  });
  const processMs = performance.now() - start;
  if (code !== 0) throw new Error(`importer process exited with ${code}:\n${stderr.join("\n")}`);
  const result = JSON.parse(readFileSync(resultPath, "utf8")) as ImporterRunResult;
  rmSync(resultPath, { force: true });
  return { ...result, processMs };
}
