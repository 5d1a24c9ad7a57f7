import type { ImportRowError } from "./errors.ts";

/**
 * What a parser yields per input record: its 0-based position (the resume point) and either the
 * parsed value or the row error that names file, line and field.
 */
export type ParsedItem<T> =
  | { index: number; line: number; value: T; error?: undefined }
  | { index: number; line: number; value?: undefined; error: ImportRowError };

/** A parser over one input: `fromIndex` lets formats with random access (Parquet, binary) skip ahead. */
export type ItemSource<T> = (fromIndex: number) => AsyncIterable<ParsedItem<T>>;
