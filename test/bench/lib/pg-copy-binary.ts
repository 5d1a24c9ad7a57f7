/**
 * PostgreSQL's binary COPY format (https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4):
 * a signature header, then per row an int16 field count and per field an int32 length and the
 * type's binary send form, then an int16 −1 trailer. Binary COPY skips float text formatting and
 * parsing, which dominate loading 768-d vectors as text.
 */

export const COPY_BINARY_HEADER = Buffer.concat([
  Buffer.from("PGCOPY\n\xff\r\n\0", "latin1"),
  Buffer.alloc(8), // flags (no OIDs) and header-extension length
]);

export const COPY_BINARY_TRAILER = Buffer.from([0xff, 0xff]);

/** Appends binary COPY rows to one growing buffer; `take()` hands over what was written. */
export class CopyBinaryWriter {
  private buffer: Buffer;
  private offset = 0;

  constructor(initialBytes = 1 << 20) {
    this.buffer = Buffer.alloc(initialBytes);
  }

  get length(): number {
    return this.offset;
  }

  row(fieldCount: number): this {
    this.reserve(2);
    this.offset = this.buffer.writeInt16BE(fieldCount, this.offset);
    return this;
  }

  null(): this {
    this.reserve(4);
    this.offset = this.buffer.writeInt32BE(-1, this.offset);
    return this;
  }

  int32(value: number): this {
    this.reserve(8);
    this.offset = this.buffer.writeInt32BE(4, this.offset);
    this.offset = this.buffer.writeInt32BE(value, this.offset);
    return this;
  }

  /** A uuid from its 32 hex digits (dashes allowed). */
  uuid(text: string): this {
    const hex = text.replaceAll("-", "");
    if (!/^[0-9a-f]{32}$/i.test(hex)) throw new TypeError(`not a uuid: ${text}`);
    this.reserve(20);
    this.offset = this.buffer.writeInt32BE(16, this.offset);
    this.offset += this.buffer.write(hex, this.offset, "hex");
    return this;
  }

  /** pgvector `vector` send form: int16 dimension, int16 unused (0), float4 values, big-endian. */
  vector(values: ArrayLike<number>): this {
    const bytes = 4 + 4 * values.length;
    this.reserve(4 + bytes);
    this.offset = this.buffer.writeInt32BE(bytes, this.offset);
    this.offset = this.buffer.writeInt16BE(values.length, this.offset);
    this.offset = this.buffer.writeInt16BE(0, this.offset);
    for (let i = 0; i < values.length; i++) this.offset = this.buffer.writeFloatBE(values[i]!, this.offset);
    return this;
  }

  text(value: string): this {
    const bytes = Buffer.byteLength(value);
    this.reserve(4 + bytes);
    this.offset = this.buffer.writeInt32BE(bytes, this.offset);
    this.offset += this.buffer.write(value, this.offset, "utf8");
    return this;
  }

  raw(bytes: Buffer): this {
    this.reserve(bytes.length);
    this.offset += bytes.copy(this.buffer, this.offset);
    return this;
  }

  take(): Buffer {
    const out = Buffer.from(this.buffer.subarray(0, this.offset));
    this.offset = 0;
    return out;
  }

  private reserve(bytes: number): void {
    if (this.offset + bytes <= this.buffer.length) return;
    const next = Buffer.alloc(Math.max(this.buffer.length * 2, this.offset + bytes));
    this.buffer.copy(next, 0, 0, this.offset);
    this.buffer = next;
  }
}
