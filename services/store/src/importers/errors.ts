/** A bad input row: names the file, the 1-based line of the record, and the offending field. */
export class ImportRowError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly field: string,
    readonly detail: string,
  ) {
    super(`${file}:${line}: field "${field}": ${detail}`);
    this.name = "ImportRowError";
  }

  toJSON(): { file: string; line: number; field: string; message: string } {
    return { file: this.file, line: this.line, field: this.field, message: this.detail };
  }
}

/** The input as a whole is unusable (missing column, unreadable archive, wrong binary size…). */
export class ImportFileError extends Error {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = "ImportFileError";
  }
}

/** More bad rows than --max-errors allows; `errors` holds the first ones (the last one tipped it over). */
export class ImportAbortedError extends Error {
  constructor(
    readonly errors: readonly ImportRowError[],
    readonly maxErrors: number,
  ) {
    const first = errors[errors.length - 1];
    super(
      maxErrors === 0
        ? `import aborted on a bad row, nothing was written: ${first?.message}`
        : `import aborted: more than ${maxErrors} bad rows, nothing was written; last: ${first?.message}`,
    );
    this.name = "ImportAbortedError";
  }
}

/** Bad command-line usage or options. */
export class ImportUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ImportUsageError";
  }
}
