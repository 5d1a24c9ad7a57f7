import { createReadStream } from "node:fs";
import type { Readable } from "node:stream";
import { parse } from "csv-parse";
import { ImportFileError } from "./errors.ts";

export interface CsvOptions {
  /** Field delimiter; default ",". */
  delimiter?: string;
  /** Quote character, or false for none (DwC-A `fieldsEnclosedBy=""`); default '"'. */
  quote?: string | false;
  /** Lines to skip before the data; with `header` the last of them holds the column names. */
  headerLines?: number;
  /** Column names when the file has no header row (DwC-A meta.xml gives them by index). */
  columns?: readonly string[];
  /** Called with every raw chunk read, to hash the file or report bytes in the same pass. */
  onChunk?: (chunk: Buffer) => void;
}

export interface CsvRecord {
  /** 0-based index of the data record: the resume position. */
  index: number;
  /** 1-based line where the record starts. */
  line: number;
  /** Field values by column name ('' for an absent field). */
  get(column: string): string;
  has(column: string): boolean;
  values: readonly string[];
  /** The column names (header row, or the names given). */
  columns: readonly string[];
}

/**
 * Streams the records of a delimited text file (CSV, TSV, DwC-A data files) one at a time, with the
 * line each starts on; memory stays flat whatever the file size. A UTF-8 BOM is dropped.
 */
export async function* readCsv(source: string | Readable, file: string, options: CsvOptions = {}): AsyncGenerator<CsvRecord> {
  const input = typeof source === "string" ? createReadStream(source) : source;
  if (options.onChunk) input.on("data", options.onChunk);
  const parser = input.pipe(
    parse({
      bom: true,
      delimiter: options.delimiter ?? ",",
      quote: options.quote === false ? null : (options.quote ?? '"'),
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
      info: true,
    }),
  );
  input.on("error", (error: Error) => parser.destroy(error));
  const headerLines = options.headerLines ?? (options.columns ? 0 : 1);
  let columns: readonly string[] | undefined = options.columns;
  let index: Map<string, number> | undefined = columns ? indexColumns(columns) : undefined;
  let seen = 0;
  let dataIndex = 0;
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      seen++;
      const line = info.lines - countNewlines(record);
      if (seen <= headerLines) {
        if (seen === headerLines && !options.columns) {
          columns = record.map((name) => name.trim());
          index = indexColumns(columns);
        }
        continue;
      }
      if (!index) throw new ImportFileError(file, "no header row");
      const lookup = index;
      const names = columns!;
      yield {
        columns: names,
        index: dataIndex++,
        line,
        values: record,
        get: (column) => {
          const at = lookup.get(column);
          return at === undefined ? "" : (record[at] ?? "");
        },
        has: (column) => lookup.has(column),
      };
    }
  } catch (error) {
    if (error instanceof ImportFileError) throw error;
    const code = (error as { code?: string }).code;
    if (code === "ENOENT") throw new ImportFileError(file, "file not found");
    if (code?.startsWith("CSV_")) throw new ImportFileError(file, `not valid delimited text: ${(error as Error).message}`);
    throw error;
  }
}

/** The header row only (column names), without reading further. */
export async function readCsvHeader(path: string, file: string, options: CsvOptions = {}): Promise<string[]> {
  const input = createReadStream(path);
  const parser = input.pipe(parse({ bom: true, delimiter: options.delimiter ?? ",", quote: options.quote === false ? null : (options.quote ?? '"'), to_line: 1, relax_quotes: true }));
  try {
    for await (const record of parser as AsyncIterable<string[]>) return record.map((name) => name.trim());
  } catch (error) {
    if ((error as { code?: string }).code === "ENOENT") throw new ImportFileError(file, "file not found");
    throw error;
  } finally {
    input.destroy();
  }
  throw new ImportFileError(file, "empty file");
}

function indexColumns(columns: readonly string[]): Map<string, number> {
  const index = new Map<string, number>();
  columns.forEach((name, at) => {
    if (!index.has(name)) index.set(name, at);
  });
  return index;
}

function countNewlines(record: readonly string[]): number {
  let count = 0;
  for (const value of record) {
    for (let at = value.indexOf("\n"); at !== -1; at = value.indexOf("\n", at + 1)) count++;
  }
  return count;
}
