import { basename } from "node:path";
import { withTransaction, type Pool, type PoolClient } from "../db.ts";
import type { Logger } from "../logger.ts";
import { ImportRepository } from "../repositories/import.repository.ts";
import { ImportAbortedError, ImportRowError } from "./errors.ts";
import { digestInputs } from "./file-digest.ts";
import type { ItemSource } from "./parsed-item.ts";
import { silentProgress, type ProgressReporter } from "./progress.ts";

/** Options every import kind takes (the CLI's common flags). */
export interface ImportRunOptions {
  pool: Pool;
  log: Logger;
  progress?: ProgressReporter;
  /**
   * Bad rows tolerated: each is skipped and reported. One more aborts the import before anything
   * is written (rows are checked in a first pass). Default 0: the first bad row aborts.
   */
  maxErrors?: number;
  /** Input rows per transaction (and per checkpoint). */
  batchSize?: number;
  /** Run again even if this file was imported completely before. */
  force?: boolean;
  /** Test hook, called after each committed batch: throwing simulates a crash between batches. */
  afterBatch?: (batchNo: number) => void | Promise<void>;
}

export type Stats = Record<string, number>;

export interface ImportOutcome {
  kind: string;
  file: string;
  sha256: string;
  /** The file had been imported completely before (and --force was not given). */
  alreadyDone: boolean;
  /** Rows committed by an earlier, interrupted run that this run continued from. */
  resumedFrom: number;
  rows: number;
  badRows: ImportRowError[];
  stats: Stats;
  seconds: number;
}

export interface GoodItem<T> {
  index: number;
  line: number;
  value: T;
}

export interface ImportJob<T> {
  kind: string;
  /** Inputs hashed into the checkpoint key (the data file, plus e.g. the metadata of raw embeddings). */
  inputs: string[];
  source: ItemSource<T>;
  defaultBatchSize: number;
  /** Runs once the first pass has accepted the file, before the first batch (outside any transaction). */
  beforeWrite?(): Promise<void>;
  writeBatch(client: PoolClient, items: Array<GoodItem<T>>, context: JobContext): Promise<Stats>;
  /** Runs in the last transaction, before the checkpoint is marked complete. */
  finish?(client: PoolClient, context: JobContext): Promise<Stats>;
  /** Runs after completion in its own transactions (prototypes). */
  afterComplete?(context: JobContext): Promise<Stats>;
}

export interface JobContext {
  importKey: string;
  repository: ImportRepository;
  log: Logger;
  /** Bad rows still tolerated after the first pass (for errors only the database can see, like orphans). */
  errorBudget: number;
}

/**
 * Runs one import: hashes the inputs (the checkpoint key), checks every row in a first pass (so a
 * file with too many bad rows changes nothing), then writes batches, each in one transaction
 * together with its checkpoint row, so an interrupted run resumes after the last committed batch
 * and a completed file is skipped. Memory holds one batch, whatever the input size.
 */
export async function runImport<T>(job: ImportJob<T>, options: ImportRunOptions): Promise<ImportOutcome> {
  const started = Date.now();
  const progress = options.progress ?? silentProgress;
  const maxErrors = options.maxErrors ?? 0;
  const batchSize = options.batchSize ?? job.defaultBatchSize;
  const repository = new ImportRepository(options.pool);
  const file = basename(job.inputs[0]!);
  const sha256 = await digestInputs(job.inputs);
  const importKey = `${job.kind}:${sha256}`;
  const log = options.log.child({ kind: job.kind, file });

  let checkpoint = await repository.getCheckpoint(job.kind, sha256);
  if (checkpoint?.completed && !options.force) {
    log.info({ sha256, rows: checkpoint.rowsDone }, "already imported (use --force to run it again)");
    return { kind: job.kind, file, sha256, alreadyDone: true, resumedFrom: 0, rows: checkpoint.rowsDone, badRows: [], stats: checkpoint.stats, seconds: (Date.now() - started) / 1000 };
  }
  if (checkpoint && options.force) {
    await repository.resetImport(job.kind, sha256, importKey);
    checkpoint = null;
  }

  // Pass 1: every row is parsed and checked; nothing is written.
  const badRows: ImportRowError[] = [];
  let total = 0;
  progress.start(`${job.kind} (check)`, 0);
  for await (const item of job.source(0)) {
    total++;
    if (item.error) {
      badRows.push(item.error);
      if (badRows.length > maxErrors) {
        progress.stop();
        throw new ImportAbortedError(badRows, maxErrors);
      }
      log.warn({ error: item.error.toJSON() }, "bad row skipped");
    }
    if (total % 5000 === 0) progress.update(total);
  }
  progress.update(total);
  progress.stop();

  await job.beforeWrite?.();
  const context: JobContext = { importKey, repository, log, errorBudget: maxErrors - badRows.length };
  const resumedFrom = checkpoint?.rowsDone ?? 0;
  if (resumedFrom > 0) log.info({ resumedFrom, total }, "resuming an interrupted import");
  let stats: Stats = { ...(checkpoint?.stats ?? {}) };
  const save = (client: PoolClient, rowsDone: number, completed: boolean) =>
    repository.saveCheckpoint(client, { kind: job.kind, fileSha256: sha256, fileName: file, rowsDone, completed, stats: { ...stats, rowsTotal: total } });

  // Pass 2: batches from the checkpoint on.
  progress.start(job.kind, total);
  progress.update(resumedFrom);
  let batch: Array<GoodItem<T>> = [];
  let inBatch = 0;
  let nextIndex = resumedFrom;
  let batchNo = 0;
  const flush = async () => {
    const items = batch;
    const rowsDone = nextIndex;
    await withTransaction(options.pool, async (client) => {
      stats = addStats(stats, items.length > 0 ? await job.writeBatch(client, items, context) : {});
      await save(client, rowsDone, false);
    });
    batch = [];
    inBatch = 0;
    batchNo++;
    progress.update(rowsDone);
    await options.afterBatch?.(batchNo);
  };
  try {
    for await (const item of job.source(resumedFrom)) {
      if (item.index < resumedFrom) continue;
      nextIndex = item.index + 1;
      inBatch++;
      if (!item.error) batch.push({ index: item.index, line: item.line, value: item.value });
      if (inBatch >= batchSize) await flush();
    }
    if (inBatch > 0 || batchNo === 0) await flush();
  } finally {
    progress.stop();
  }

  await withTransaction(options.pool, async (client) => {
    if (job.finish) stats = addStats(stats, await job.finish(client, context));
    await save(client, total, true);
  });
  if (job.afterComplete) stats = addStats(stats, await job.afterComplete(context));
  const seconds = (Date.now() - started) / 1000;
  log.info({ rows: total, badRows: badRows.length, resumedFrom, stats, seconds, rowsPerSecond: Math.round((total - resumedFrom) / Math.max(seconds, 1e-3)) }, "import complete");
  return { kind: job.kind, file, sha256, alreadyDone: false, resumedFrom, rows: total, badRows, stats, seconds };
}

export function addStats(a: Stats, b: Stats): Stats {
  const sum: Stats = { ...a };
  for (const [key, value] of Object.entries(b)) sum[key] = (sum[key] ?? 0) + value;
  return sum;
}
