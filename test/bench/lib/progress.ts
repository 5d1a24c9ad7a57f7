/**
 * Progress lines on stderr (stdout carries only the result table), so a long step never looks hung:
 * `[bench 12:01:05] load: 420,000/1,000,000 rows (42%), 35,000 rows/s, eta 17s`.
 */
export class Progress {
  constructor(
    private readonly prefix = "bench",
    private readonly write: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  ) {}

  log(message: string): void {
    const clock = new Date().toISOString().slice(11, 19);
    this.write(`[${this.prefix} ${clock}] ${message}`);
  }

  /** Runs one named step, logging its start and its duration. */
  async step<T>(name: string, work: () => Promise<T>): Promise<T> {
    this.log(`${name} …`);
    const start = performance.now();
    const result = await work();
    this.log(`${name}: done in ${formatSeconds((performance.now() - start) / 1000)}`);
    return result;
  }

  /** A counter that logs at most every `everyMs` milliseconds, plus once at the end. */
  counter(name: string, total: number, unit: string, everyMs = 5_000): ProgressCounter {
    return new ProgressCounter(this, name, total, unit, everyMs);
  }
}

export class ProgressCounter {
  private readonly start = performance.now();
  private lastLog = this.start;
  private done = 0;

  constructor(
    private readonly progress: Progress,
    private readonly name: string,
    private readonly total: number,
    private readonly unit: string,
    private readonly everyMs: number,
  ) {}

  add(count: number): void {
    this.set(this.done + count);
  }

  set(done: number): void {
    this.done = done;
    const now = performance.now();
    if (now - this.lastLog >= this.everyMs && done < this.total) {
      this.lastLog = now;
      this.progress.log(this.line(now));
    }
  }

  finish(): void {
    this.done = this.total;
    this.progress.log(this.line(performance.now()));
  }

  private line(now: number): string {
    const seconds = (now - this.start) / 1000;
    const rate = seconds > 0 ? this.done / seconds : 0;
    const share = this.total > 0 ? ` (${Math.floor((100 * this.done) / this.total)}%)` : "";
    const eta = rate > 0 && this.done < this.total ? `, eta ${formatSeconds((this.total - this.done) / rate)}` : "";
    const elapsed = this.done >= this.total ? ` in ${formatSeconds(seconds)}` : "";
    return `${this.name}: ${this.done.toLocaleString("en-US")}/${this.total.toLocaleString("en-US")} ${this.unit}${share}, ${Math.round(rate).toLocaleString("en-US")} ${this.unit}/s${eta}${elapsed}`;
  }
}

export function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes}m${String(Math.round(seconds - minutes * 60)).padStart(2, "0")}s`;
}
