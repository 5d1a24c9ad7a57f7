export type CliErrorCode =
  | 'USAGE'
  | 'CONFIG'
  | 'FILE_NOT_FOUND'
  | 'FILE_UNREADABLE'
  | 'IMAGE_UNREADABLE'
  | 'INVALID_INPUT'
  | 'OUTPUT_FAILED';

/** Exit status of a command line the CLI could not understand (as getopt-style tools do). */
export const USAGE_EXIT_CODE = 2;
/** Exit status of every other failure. */
export const FAILURE_EXIT_CODE = 1;

/**
 * The one error type of the command-line layer; its message is what the user sees (no stack trace).
 * - USAGE: unknown command or option, a missing or malformed argument.
 * - CONFIG: an environment variable of the service configuration (MODEL_DIR, INFERENCE_PROVIDERS, …) is invalid.
 * - FILE_NOT_FOUND / FILE_UNREADABLE: an input file (image, list, bins, embeddings) that cannot be read.
 * - IMAGE_UNREADABLE: an image file whose bytes are not an image we decode (the message names the file).
 * - INVALID_INPUT: a readable file whose content is wrong (a CSV without the needed columns, …).
 * - OUTPUT_FAILED: the output file cannot be written.
 */
export class CliError extends Error {
  override readonly name = 'CliError';

  constructor(
    readonly code: CliErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get exitCode(): number {
    return this.code === 'USAGE' ? USAGE_EXIT_CODE : FAILURE_EXIT_CODE;
  }
}

/** A CliError for a file that could not be opened, worded after the system error (ENOENT, EISDIR, EACCES). */
export function fileReadError(what: string, file: string, error: unknown): CliError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return new CliError('FILE_NOT_FOUND', `${what} '${file}' does not exist`, { cause: error });
  if (code === 'EISDIR') return new CliError('FILE_UNREADABLE', `${what} '${file}' is a directory, not a file`, { cause: error });
  if (code === 'EACCES' || code === 'EPERM') return new CliError('FILE_UNREADABLE', `${what} '${file}' is not readable (permission denied)`, { cause: error });
  const reason = error instanceof Error ? error.message : String(error);
  return new CliError('FILE_UNREADABLE', `${what} '${file}' cannot be read (${reason})`, { cause: error });
}
