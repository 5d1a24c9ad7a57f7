import { basename } from "node:path";
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } from "hyparquet";
import { checkEmbedding, recordFields, type EmbeddingRecord } from "./embedding-record.ts";
import { ImportFileError, ImportRowError } from "./errors.ts";
import { buildLineageNodes } from "./lineage.ts";
import type { ParsedItem } from "./parsed-item.ts";

const EMBEDDING_COLUMNS = ["emb", "embedding", "embeddings"];
// Rows decoded at a time. hyparquet decodes whole pages, so memory is bounded by this many rows plus
// one page per column, not by the file size.
const ROWS_PER_READ = 256;

export interface ParquetEmbeddingOptions {
  dimension: number;
}

/** Rows in the file, from its footer. */
export async function countParquetRows(path: string): Promise<number> {
  const file = await openParquet(path);
  return Number((await parquetMetadataAsync(file)).num_rows);
}

/**
 * emb-explorer Parquet (uuid, kingdom … species, common_name, publisher, identifier, emb/embedding):
 * read ROWS_PER_READ rows at a time by row range. Errors name the 1-based row as the line.
 */
export async function* parseParquetEmbeddings(path: string, options: ParquetEmbeddingOptions, fromIndex = 0): AsyncGenerator<ParsedItem<EmbeddingRecord>> {
  const fileName = basename(path);
  const file = await openParquet(path);
  const metadata = await parquetMetadataAsync(file);
  const columns = parquetSchema(metadata).children.map((child) => child.element.name);
  const embeddingColumn = EMBEDDING_COLUMNS.find((name) => columns.includes(name));
  if (!embeddingColumn) throw new ImportFileError(fileName, `no embedding column (${EMBEDDING_COLUMNS.join(", ")}); columns: ${columns.join(", ")}`);
  if (!columns.includes("uuid")) throw new ImportFileError(fileName, "no uuid column");
  const rowCount = Number(metadata.num_rows);
  for (let start = fromIndex; start < rowCount; start += ROWS_PER_READ) {
    const end = Math.min(rowCount, start + ROWS_PER_READ);
    const rows = (await parquetReadObjects({ file, metadata, rowStart: start, rowEnd: end })) as Array<Record<string, unknown>>;
    for (let offset = 0; offset < rows.length; offset++) {
      const row = rows[offset]!;
      const index = start + offset;
      const line = index + 1;
      const fields = recordFields((column) => (row[column] === null || row[column] === undefined ? null : String(row[column])));
      if (fields.image.sourceId === "") {
        yield { index, line, error: new ImportRowError(fileName, line, "uuid", "empty uuid") };
        continue;
      }
      const lineage = buildLineageNodes(fields.lineage, line);
      if (lineage.error) {
        yield { index, line, error: new ImportRowError(fileName, line, lineage.error.field, lineage.error.message) };
        continue;
      }
      const raw = row[embeddingColumn];
      if (!Array.isArray(raw) && !ArrayBuffer.isView(raw)) {
        yield { index, line, error: new ImportRowError(fileName, line, embeddingColumn, "not a list of numbers") };
        continue;
      }
      const values = raw as ArrayLike<number>;
      const problem = checkEmbedding(values, options.dimension, embeddingColumn);
      if (problem) {
        yield { index, line, error: new ImportRowError(fileName, line, problem.field, problem.message) };
        continue;
      }
      yield { index, line, value: { ...fields, embedding: Float32Array.from(values) } };
    }
  }
}

async function openParquet(path: string) {
  try {
    return await asyncBufferFromFile(path);
  } catch {
    throw new ImportFileError(basename(path), "file not found");
  }
}
