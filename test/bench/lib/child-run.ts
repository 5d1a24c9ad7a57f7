/**
 * A benchmark step in its own Node process (so that its peak RSS is its own, and so that it can be
 * killed part-way): the parent passes a JSON request as the only argument, the child writes a JSON
 * result to `request.resultPath`. `runChildScript` is the parent's side, `childMain` the child's.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const KILL_POLL_MS = 250;
const STDERR_LINES_KEPT = 200;

export interface ChildRun<Result> {
  /** The child's result; absent when it was killed. */
  result?: Result;
  killed: boolean;
  /** Wall time of the child process, start-up (Node + tsx) included. */
  processMs: number;
}

export interface ChildRunOptions {
  /** Each line the child writes on stderr (progress). */
  onLine?: (line: string) => void;
  /** Polled while the child runs; SIGKILL as soon as it answers true (a crash at an arbitrary point). */
  killWhen?: () => Promise<boolean>;
}

/** Runs `script` (a .ts file) with `request` + resultPath; throws with its last stderr lines when it fails (unless killed). */
export async function runChildScript<Request extends object, Result>(
  script: string,
  request: Request,
  workDir: string,
  options: ChildRunOptions = {},
): Promise<ChildRun<Result>> {
  const resultPath = join(workDir, `child-result-${process.pid}-${Date.now()}.json`);
  const start = performance.now();
  const stderr: string[] = [];
  let killed = false;
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", script, JSON.stringify({ ...request, resultPath })], {
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
        if (stderr.length > STDERR_LINES_KEPT) stderr.shift();
        options.onLine?.(line);
      }
    });
    let polling = false;
    const poller = options.killWhen
      ? setInterval(() => {
          if (polling || killed) return;
          polling = true;
          options.killWhen!()
            .then((kill) => {
              if (kill && child.exitCode === null) {
                killed = true;
                child.kill("SIGKILL");
              }
            })
            .catch(reject)
            .finally(() => (polling = false));
        }, KILL_POLL_MS)
      : undefined;
    child.on("error", reject);
    child.on("close", (exitCode) => {
      if (poller) clearInterval(poller);
      resolve(exitCode);
    });
  });
  const processMs = performance.now() - start;
  try {
    if (killed) return { killed, processMs };
    if (code !== 0 || !existsSync(resultPath)) throw new Error(`${script} exited with ${code}:\n${stderr.join("\n")}`);
    return { result: JSON.parse(readFileSync(resultPath, "utf8")) as Result, killed, processMs };
  } finally {
    rmSync(resultPath, { force: true });
  }
}

/** The child's entry: parses the request argument and runs `main`; exit 2 on a missing request, 1 on failure. */
export function childMain<Request>(usage: string, main: (request: Request) => Promise<void>): void {
  const request = JSON.parse(process.argv[2] ?? "null") as Request | null;
  if (!request) {
    process.stderr.write(`usage: ${usage}\n`);
    process.exit(2);
  }
  main(request).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
