import cliProgress from "cli-progress";
import type { Logger } from "../logger.ts";

/** What a long step reports; the CLI draws a bar, the seed forwards it to its own callback. */
export interface ProgressEvent {
  step: string;
  done: number;
  total: number;
}

export interface ProgressReporter {
  start(step: string, total: number): void;
  update(done: number): void;
  stop(): void;
}

export interface ProgressOptions {
  log: Logger;
  /** Draw a bar on stderr; default: when stderr is a terminal. */
  bar?: boolean;
  /** Without a bar, log a progress line every this many rows. */
  logEvery?: number;
  onProgress?: (event: ProgressEvent) => void;
}

/** A bar on a terminal, otherwise a JSON log line every `logEvery` rows (and at the end of a step). */
export function createProgressReporter(options: ProgressOptions): ProgressReporter {
  const useBar = options.bar ?? Boolean(process.stderr.isTTY);
  const logEvery = options.logEvery ?? 10_000;
  let bar: cliProgress.SingleBar | undefined;
  let step = "";
  let total = 0;
  let done = 0;
  let lastLogged = 0;
  let startedAt = 0;
  return {
    start(name, size) {
      step = name;
      total = size;
      done = 0;
      lastLogged = 0;
      startedAt = Date.now();
      if (useBar) {
        // A step of unknown size (the check pass) shows a running count instead of a bar.
        const format = size > 0
          ? `${name.padEnd(22)} [{bar}] {percentage}% | {value}/{total} rows | {rate} rows/s | eta {eta_formatted}`
          : `${name.padEnd(22)} {value} rows | {rate} rows/s`;
        bar = new cliProgress.SingleBar(
          { format, stream: process.stderr, hideCursor: true },
          cliProgress.Presets.shades_classic,
        );
        bar.start(size, 0, { rate: 0 });
      }
      options.onProgress?.({ step, done: 0, total });
    },
    update(value) {
      done = value;
      const rate = Math.round(done / Math.max((Date.now() - startedAt) / 1000, 1e-3));
      bar?.update(done, { rate });
      if (!useBar && done - lastLogged >= logEvery) {
        lastLogged = done;
        options.log.info({ step, done, total, rowsPerSecond: rate }, "progress");
      }
      options.onProgress?.({ step, done, total });
    },
    stop() {
      bar?.stop();
      bar = undefined;
      const seconds = (Date.now() - startedAt) / 1000;
      if (!useBar) options.log.info({ step, done, total, rowsPerSecond: Math.round(done / Math.max(seconds, 1e-3)) }, "progress");
    },
  };
}

/** Reports nothing (library calls and tests). */
export const silentProgress: ProgressReporter = { start() {}, update() {}, stop() {} };
