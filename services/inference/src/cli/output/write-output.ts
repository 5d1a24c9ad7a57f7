import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { CliError } from '../errors.ts';

/** Writes to a stream and resolves once the data is handed to the OS (so exiting afterwards loses nothing). */
export function writeToStream(stream: NodeJS.WritableStream, data: string | Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(data, (error) => (error ? reject(error) : resolve()));
  });
}

/**
 * Writes a whole output either to `file` or, without one, to stdout. A file is written beside its final name and
 * renamed into place, so a failure never leaves a half-written file behind (nor truncates an older one).
 */
export async function writeOutput(data: string | Uint8Array, file: string | undefined, stdout: NodeJS.WritableStream = process.stdout): Promise<void> {
  if (file === undefined) {
    await writeToStream(stdout, data);
    return;
  }
  const target = path.resolve(file);
  const temporary = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temporary, data);
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new CliError('OUTPUT_FAILED', `cannot write '${file}' (${(error as Error).message})`, { cause: error });
  }
}
