/**
 * COPY text format, as ImportRepository's copyField writes it, but gathered into chunks of about
 * CHUNK_CHARS characters: one CopyData message (and one socket write) per chunk instead of per row.
 */
const CHUNK_CHARS = 1 << 18;

export function copyField(value: unknown): string {
  if (value === null || value === undefined) return "\\N";
  if (typeof value === "boolean") return value ? "t" : "f";
  return String(value).replace(/\\/g, "\\\\").replace(/\t/g, "\\t").replace(/\n/g, "\\n").replace(/\r/g, "\\r");
}

export function* copyChunks(rows: readonly unknown[][]): Generator<string> {
  let chunk = "";
  for (const row of rows) {
    chunk += `${row.map(copyField).join("\t")}\n`;
    if (chunk.length >= CHUNK_CHARS) {
      yield chunk;
      chunk = "";
    }
  }
  if (chunk.length > 0) yield chunk;
}
