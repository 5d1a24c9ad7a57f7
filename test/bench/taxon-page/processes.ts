import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

/** Repository root: the servers run from there so `--import tsx` and workspace imports resolve. */
export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

export interface ServerProcess {
  name: string;
  pid: number;
  baseUrl: string;
  /** stderr lines kept for error reports (bounded). */
  stderrTail(): string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => (address && typeof address === "object" ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

export interface SpawnOptions {
  name: string;
  /** Node arguments before the script, e.g. --cpu-prof. */
  nodeArgs?: string[];
  script: string;
  env: Record<string, string>;
  port: number;
  healthPath: string;
  startTimeoutMs?: number;
}

/** Starts `node --import tsx <script>` and waits until GET healthPath answers 200. */
export async function startServer(options: SpawnOptions): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), "--import", "tsx", options.script], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let tail = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (text: string) => {
    tail = (tail + text).slice(-4000);
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const baseUrl = `http://127.0.0.1:${options.port}`;
  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  let alive = true;
  void exited.then(() => (alive = false));
  while (true) {
    if (!alive) throw new Error(`${options.name} exited during start-up:\n${tail}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`${options.name} did not answer ${options.healthPath} within ${options.startTimeoutMs ?? 60_000} ms:\n${tail}`);
    }
    try {
      const res = await fetch(`${baseUrl}${options.healthPath}`);
      await res.arrayBuffer();
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    name: options.name,
    pid: child.pid!,
    baseUrl,
    stderrTail: () => tail,
    stop: () => stopChild(child, exited),
  };
}

/** SIGINT (both servers shut down cleanly on it, which also lets --cpu-prof write its file), then SIGKILL. */
async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGINT");
  const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  await exited;
  clearTimeout(timer);
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** User and system CPU time of one process in milliseconds, from /proc/<pid>/stat. */
export function processCpuSplitMs(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { user: (Number(fields[11]) * 1000) / TICKS_PER_SECOND, system: (Number(fields[12]) * 1000) / TICKS_PER_SECOND };
}

/** CPU time (user + system) of one process in milliseconds. */
export function processCpuMs(pid: number): number {
  const { user, system } = processCpuSplitMs(pid);
  return user + system;
}

/** Busy and total jiffies of the whole machine, from /proc/stat. */
export function machineCpu(): { busy: number; total: number } {
  const first = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = first.reduce((a, b) => a + b, 0);
  const idle = first[3]! + (first[4] ?? 0);
  return { busy: total - idle, total };
}
