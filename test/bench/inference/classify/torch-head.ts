import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const SCRIPT = fileURLToPath(new URL("./torch_head.py", import.meta.url));
const STDERR_TAIL_LINES = 40;

export interface TorchHeadInfo {
  python: string;
  torch: string;
  numpy: string;
  threads: number;
  openblas: { library: string | null; corename?: string; config?: string; threads?: number };
  blasLibraries: string[];
  OPENBLAS_CORETYPE: string | null;
  OPENBLAS_NUM_THREADS: string | null;
  OMP_NUM_THREADS: string | null;
  torchConfig: string;
}

/** Top-1 per rank of each query: group ids kingdom … genus, then the species position. */
export type Top1 = number[];

interface Reply {
  ok: boolean;
  error?: string;
  trace?: string;
  [key: string]: unknown;
}

/** torch_head.py in a child process, one JSON line per request, so its runs can alternate with the engine's. */
export class TorchHead {
  private readonly pending: Array<{ resolve: (reply: Reply) => void; reject: (error: Error) => void }> = [];
  private readonly stderrTail: string[] = [];
  private exited: Error | undefined;

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly onProgress: (line: string) => void,
  ) {
    createInterface({ input: child.stdout }).on("line", (line) => {
      if (line.startsWith("{")) this.pending.shift()?.resolve(JSON.parse(line) as Reply);
    });
    createInterface({ input: child.stderr }).on("line", (line) => {
      if (line.startsWith("progress: ")) return this.onProgress(line.slice("progress: ".length));
      this.stderrTail.push(line);
      if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
    });
    child.on("exit", (code, signal) => {
      this.exited = new Error(`PyTorch worker exited (${signal ?? `code ${code}`})\n${this.stderrTail.join("\n")}`);
      for (const waiter of this.pending.splice(0)) waiter.reject(this.exited);
    });
    child.on("error", (error) => {
      this.exited = error;
      for (const waiter of this.pending.splice(0)) waiter.reject(error);
    });
  }

  /** `openblasCoretype`: "inherit" keeps this environment, "auto" unsets OPENBLAS_CORETYPE, else a kernel family. */
  static start(python: string, threads: number, openblasCoretype: string, onProgress: (line: string) => void = () => {}): TorchHead {
    const env = { ...process.env };
    if (openblasCoretype === "auto") delete env.OPENBLAS_CORETYPE;
    else if (openblasCoretype !== "inherit") env.OPENBLAS_CORETYPE = openblasCoretype;
    return new TorchHead(spawn(python, [SCRIPT, "--threads", String(threads)], { env, stdio: ["pipe", "pipe", "pipe"] }), onProgress);
  }

  async request<T>(command: Record<string, unknown>): Promise<T> {
    if (this.exited) throw this.exited;
    const reply = await new Promise<Reply>((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.child.stdin.write(`${JSON.stringify(command)}\n`);
    });
    if (!reply.ok) throw new Error(`PyTorch worker: ${reply.error}\n${reply.trace ?? ""}`);
    return reply as T;
  }

  info(): Promise<TorchHeadInfo> {
    return this.request({ cmd: "info" });
  }

  load(species: string, queries: string, logitScale: number): Promise<{ seconds: number }> {
    return this.request({ cmd: "load", species, queries, logitScale });
  }

  /** Queries [start, start + count) in batches; per-batch times (ms, the head only) and top-1 per rank. */
  run(batch: number, start: number, count: number, k: number): Promise<{ batchMs: number[]; top1: Top1[]; majorFaults: number }> {
    return this.request({ cmd: "run", batch, start, count, k });
  }

  reference(count: number): Promise<{ seconds: number; top1: Top1[]; relativeGap: number[][] }> {
    return this.request({ cmd: "reference", count });
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.stdin.end();
    await done;
  }
}
