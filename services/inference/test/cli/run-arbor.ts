// Runs the real `arbor` command (bin/arbor.mjs under node, as npx would) and collects what it printed.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const ARBOR_BIN = path.join(REPO_ROOT, 'services', 'inference', 'bin', 'arbor.mjs');
export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
/** Official-format embeddings of the 12 species of fixtures/candidate-species.csv (see fixtures/README.md). */
export const SPECIES_EMBEDDINGS = path.join(FIXTURES, 'candidate-species-embeddings');
export const SPECIES_LIST = path.join(FIXTURES, 'candidate-species.csv');
export const PHOTO_DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'images');
export const photo = (name: string) => path.join(PHOTO_DIR, name);
export const CAT = photo('pybioclip/mycat.jpg');
export const OCELOT = photo('cameratrapai/ocelot.jpg');
export const BEAR = photo('cameratrapai/american_black_bear.jpg');

/**
 * Each CLI run is a whole process that loads the model (seconds); a test that runs several gets this much time, so
 * that a busy machine slows the suite down instead of failing it.
 */
export const SPAWNING_TEST_TIMEOUT_MS = 300_000;

export interface ArborRun {
  code: number | null;
  stdout: Buffer;
  stderr: string;
  /** stdout as UTF-8 text. */
  text: string;
}

// Variables that would point the CLI at another model, cache or log level than the test intends.
const SCRUBBED = ['MODEL_DIR', 'LOG_LEVEL', 'ARBOR_CACHE_DIR', 'ARBOR_DEBUG', 'MODEL_PRECISION', 'INFERENCE_PROVIDERS'];

export function runArbor(args: readonly string[], options: { input?: string | Buffer; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<ArborRun> {
  const env = { ...process.env };
  for (const name of SCRUBBED) delete env[name];
  Object.assign(env, { PREPROCESS_WORKERS: '1' }, options.env);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ARBOR_BIN, ...args], { cwd: options.cwd ?? REPO_ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const stdout = Buffer.concat(out);
      resolve({ code, stdout, text: stdout.toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.end(options.input ?? '');
  });
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(tmpdir(), 'arbor-cli-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Parses CSV output the simple way: the fixtures' names hold no commas or quotes. */
export function csvRecords(text: string): { header: string[]; rows: Record<string, string>[] } {
  const [headerLine, ...lines] = text.trimEnd().split('\n');
  const header = headerLine.split(',');
  return { header, rows: lines.map((line) => Object.fromEntries(line.split(',').map((value, i) => [header[i], value]))) };
}

/** A failure as the user sees it: one error line naming the problem, no stack trace. */
export function expectCleanFailure(run: ArborRun): void {
  if (run.code === 0) throw new Error(`expected a failure, got exit 0; stderr: ${run.stderr}`);
  if (/^\s+at /m.test(run.stderr)) throw new Error(`stderr holds a stack trace:\n${run.stderr}`);
}

/** A file's bytes as a plain ArrayBuffer (what hyparquet reads). */
export async function readArrayBuffer(file: string): Promise<ArrayBuffer> {
  const bytes = await readFile(file);
  return new Uint8Array(bytes).buffer;
}
