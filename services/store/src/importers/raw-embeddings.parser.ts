import { open, stat } from "node:fs/promises";
import { basename } from "node:path";
import { readCsv } from "./csv.ts";
import { checkEmbedding, recordFields, type EmbeddingRecord } from "./embedding-record.ts";
import { ImportFileError, ImportRowError } from "./errors.ts";
import { buildLineageNodes } from "./lineage.ts";
import type { ParsedItem } from "./parsed-item.ts";

export interface RawEmbeddingOptions {
  /** The metadata CSV; its `row` column indexes the binary file. */
  metadataPath: string;
  dimension: number;
}

/**
 * Raw little-endian float32 embeddings, row-major [rows][dimension], with a metadata CSV whose `row`
 * column says which vector belongs to each record. Each vector is read by offset (memory stays flat).
 */
export async function* parseRawEmbeddings(binPath: string, options: RawEmbeddingOptions): AsyncGenerator<ParsedItem<EmbeddingRecord>> {
  const binFile = basename(binPath);
  const metadataFile = basename(options.metadataPath);
  const bytesPerRow = options.dimension * 4;
  const size = (await stat(binPath).catch(() => {
    throw new ImportFileError(binFile, "file not found");
  })).size;
  if (size % bytesPerRow !== 0) {
    throw new ImportFileError(binFile, `${size} bytes is not a whole number of ${options.dimension}-d float32 rows (${bytesPerRow} bytes each): wrong --dim?`);
  }
  const vectors = size / bytesPerRow;
  const handle = await open(binPath, "r");
  const buffer = Buffer.alloc(bytesPerRow);
  try {
    let checkedHeader = false;
    for await (const record of readCsv(options.metadataPath, metadataFile)) {
      if (!checkedHeader) {
        for (const column of ["row", "uuid"]) if (!record.has(column)) throw new ImportFileError(metadataFile, `no "${column}" column`);
        checkedHeader = true;
      }
      const fail = (field: string, message: string): ParsedItem<EmbeddingRecord> => ({ index: record.index, line: record.line, error: new ImportRowError(metadataFile, record.line, field, message) });
      const rowText = record.get("row").trim();
      const row = Number(rowText);
      if (rowText === "" || !Number.isInteger(row) || row < 0 || row >= vectors) {
        yield fail("row", `"${rowText}" is not a row of ${binFile} (0…${vectors - 1})`);
        continue;
      }
      const fields = recordFields((column) => (record.has(column) ? record.get(column) : null));
      if (fields.image.sourceId === "") {
        yield fail("uuid", "empty uuid");
        continue;
      }
      const lineage = buildLineageNodes(fields.lineage, record.line);
      if (lineage.error) {
        yield fail(lineage.error.field, lineage.error.message);
        continue;
      }
      await handle.read(buffer, 0, bytesPerRow, row * bytesPerRow);
      const embedding = new Float32Array(options.dimension);
      for (let at = 0; at < options.dimension; at++) embedding[at] = buffer.readFloatLE(at * 4);
      const problem = checkEmbedding(embedding, options.dimension, "embedding");
      if (problem) {
        yield fail(problem.field, `${problem.message} (${binFile} row ${row})`);
        continue;
      }
      yield { index: record.index, line: record.line, value: { ...fields, embedding } };
    }
  } finally {
    await handle.close();
  }
}
