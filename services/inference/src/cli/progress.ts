/** Where a command reports what it is doing: progress of long steps and notices, always on stderr. */
export interface Reporter {
  /** A one-off line (notices, warnings, cache hits). Never suppressed by --quiet. */
  note(message: string): void;
  /** Progress of a counted step; nothing is shown with --quiet. */
  task(label: string, total: number, unit: string): ProgressTask;
}

export interface ProgressTask {
  update(done: number): void;
  /** Ends the step with a summary line (count and elapsed time). */
  finish(): void;
}

// On a terminal the line is redrawn in place at most this often; in a log file a line is written at most this often.
const TTY_REDRAW_MS = 100;
const LOG_LINE_EVERY_MS = 5000;

export class StderrReporter implements Reporter {
  constructor(
    private readonly stream: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr,
    private readonly quiet = false,
  ) {}

  note(message: string): void {
    this.stream.write(`arbor: ${message}\n`);
  }

  task(label: string, total: number, unit: string): ProgressTask {
    if (this.quiet) return { update() {}, finish() {} };
    const startedAt = performance.now();
    const tty = this.stream.isTTY === true;
    let lastShownAt = startedAt;
    let done = 0;
    let shownDone = -1;
    const describe = () => {
      const seconds = ((performance.now() - startedAt) / 1000).toFixed(1);
      const percent = total > 0 ? ` (${Math.floor((100 * done) / total)}%)` : '';
      return `arbor: ${label}: ${done}/${total} ${unit}${percent}, ${seconds} s`;
    };
    return {
      update: (value) => {
        done = value;
        const now = performance.now();
        if (now - lastShownAt < (tty ? TTY_REDRAW_MS : LOG_LINE_EVERY_MS)) return;
        lastShownAt = now;
        shownDone = done;
        this.stream.write(tty ? `\r${describe()}\x1b[K` : `${describe()}\n`);
      },
      finish: () => {
        done = Math.max(done, total);
        if (tty) this.stream.write(`\r${describe()}\x1b[K\n`);
        else if (shownDone !== done) this.stream.write(`${describe()}\n`);
      },
    };
  }
}
