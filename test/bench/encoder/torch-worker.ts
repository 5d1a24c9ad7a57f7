import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const SCRIPT = fileURLToPath(new URL("./torch_baseline.py", import.meta.url));
const STDERR_TAIL_LINES = 40;

export interface TorchWorkerOptions {
  python: string;
  threads: number;
  /**
   * OPENBLAS_CORETYPE for the worker: "inherit" keeps this process's environment, "auto" unsets it
   * (OpenBLAS detects the CPU), anything else is a kernel family name (Haswell, SkylakeX, Cooperlake, Zen …).
   */
  openblasCoretype: string;
  /**
   * OMP_WAIT_POLICY for torch's OpenMP pool ("inherit" keeps the environment). PASSIVE stops idle
   * OpenMP threads from spinning while OpenBLAS's own pthreads do the GEMMs: on 2 cores that are
   * shared with other work, the spinning made the same forward pass 2.5× (ViT-L/14) to 30× (stand-in) slower.
   */
  ompWaitPolicy: string;
}

export interface TorchInfo {
  python: string;
  torch: string;
  numpy: string;
  threads: number;
  interopThreads: number;
  cpuCapability: string | null;
  mkldnn: boolean;
  blas: {
    libraries: string[];
    openblas: { library: string | null; corename?: string; config?: string; threads?: number };
    OPENBLAS_CORETYPE: string | null;
    OPENBLAS_NUM_THREADS: string | null;
    OMP_NUM_THREADS: string | null;
    OMP_WAIT_POLICY: string | null;
    gemmGflops: number;
    gemmShape: number[];
  };
  config: string;
}

interface Reply {
  ok: boolean;
  error?: string;
  trace?: string;
  [key: string]: unknown;
}

/**
 * The PyTorch reference in a child process (test/bench/encoder/torch_baseline.py), driven one JSON
 * line at a time so its runs can alternate with ONNX Runtime runs in this process.
 */
export class TorchWorker {
  private readonly pending: Array<{ resolve: (reply: Reply) => void; reject: (error: Error) => void }> = [];
  private readonly stderrTail: string[] = [];
  private exited: Error | undefined;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on("line", (line) => {
      if (!line.startsWith("{")) return;
      this.pending.shift()?.resolve(JSON.parse(line) as Reply);
    });
    createInterface({ input: child.stderr }).on("line", (line) => {
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

  static start(options: TorchWorkerOptions): TorchWorker {
    const env = { ...process.env };
    if (options.openblasCoretype === "auto") delete env.OPENBLAS_CORETYPE;
    else if (options.openblasCoretype !== "inherit") env.OPENBLAS_CORETYPE = options.openblasCoretype;
    if (options.ompWaitPolicy !== "inherit") env.OMP_WAIT_POLICY = options.ompWaitPolicy;
    const child = spawn(options.python, [SCRIPT, "--threads", String(options.threads)], { env, stdio: ["pipe", "pipe", "pipe"] });
    return new TorchWorker(child);
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

  info(): Promise<TorchInfo> {
    return this.request<TorchInfo>({ cmd: "info" });
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.stdin.end();
    await done;
  }
}
