import { open, type FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import { ClassifyError } from '../errors.ts';
import { NPY_PREAMBLE_BYTES, parseNpyHeader, parseNpyPreamble, type NpyHeader } from './npy-header.ts';

const LITTLE_ENDIAN_HOST = endianness() === 'LE';

/**
 * Reads a 2-D float32 .npy array of shape [dim, n] one block of columns at a time, returning each block
 * column-major (one contiguous vector per column). In the official species file each column is a species, and the
 * array is C-ordered, so a block of columns is `dim` separate slices of the file: one positioned read per row.
 * Memory stays at two blocks whatever n is.
 */
export class NpyColumnReader {
  private constructor(
    private readonly file: FileHandle,
    readonly header: NpyHeader,
    readonly rows: number,
    readonly columns: number,
  ) {}

  static async open(path: string, expectedRows?: number): Promise<NpyColumnReader> {
    const file = await open(path, 'r');
    try {
      const size = (await file.stat()).size;
      const pre = new Uint8Array(NPY_PREAMBLE_BYTES);
      const { bytesRead } = await file.read(pre, 0, pre.length, 0);
      const preamble = parseNpyPreamble(pre.subarray(0, bytesRead));
      const headerBytes = new Uint8Array(preamble.headerLength);
      const got = await file.read(headerBytes, 0, headerBytes.length, preamble.headerStart);
      if (got.bytesRead !== headerBytes.length) throw new ClassifyError('INVALID_NPY', 'truncated .npy header');
      const header = parseNpyHeader(preamble, headerBytes);
      if (header.descr !== '<f4' && !(header.descr === '=f4' && LITTLE_ENDIAN_HOST)) {
        throw new ClassifyError('INVALID_NPY', `dtype ${header.descr} is not little-endian float32 ('<f4')`);
      }
      if (header.shape.length !== 2) throw new ClassifyError('DIMENSION_MISMATCH', `shape (${header.shape.join(', ')}) is not 2-D [dim, species]`);
      const [rows, columns] = header.shape;
      if (expectedRows !== undefined && rows !== expectedRows) {
        throw new ClassifyError('DIMENSION_MISMATCH', `shape (${rows}, ${columns}): expected ${expectedRows} rows (the embedding dimension)`);
      }
      const expectedSize = header.dataOffset + rows * columns * 4;
      if (size < expectedSize) throw new ClassifyError('INVALID_NPY', `file holds ${size} bytes, the header promises ${expectedSize}`);
      return new NpyColumnReader(file, header, rows, columns);
    } catch (e) {
      await file.close();
      throw e;
    }
  }

  /** Columns [start, start + count) as count × rows float32 values, column after column. */
  async readColumns(start: number, count: number): Promise<Float32Array> {
    if (start < 0 || count < 0 || start + count > this.columns) throw new RangeError(`columns ${start}+${count} outside 0…${this.columns}`);
    const { rows, columns } = this;
    const out = new Float32Array(count * rows);
    if (count === 0) return out;
    const base = this.header.dataOffset;
    if (this.header.fortranOrder) {
      // Column-major on disk: the block is one contiguous read, already in the output layout.
      await this.readInto(new Uint8Array(out.buffer), base + start * rows * 4);
      if (!LITTLE_ENDIAN_HOST) swapFloat32(out);
      return out;
    }
    const slice = new Float32Array(count);
    const sliceBytes = new Uint8Array(slice.buffer);
    for (let r = 0; r < rows; r++) {
      await this.readInto(sliceBytes, base + (r * columns + start) * 4);
      if (!LITTLE_ENDIAN_HOST) swapFloat32(slice);
      for (let c = 0; c < count; c++) out[c * rows + r] = slice[c];
    }
    return out;
  }

  private async readInto(target: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < target.length) {
      const { bytesRead } = await this.file.read(target, done, target.length - done, position + done);
      if (bytesRead === 0) throw new ClassifyError('INVALID_NPY', `unexpected end of file at byte ${position + done}`);
      done += bytesRead;
    }
  }

  async close(): Promise<void> {
    await this.file.close();
  }
}

function swapFloat32(a: Float32Array): void {
  const b = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  for (let i = 0; i < b.length; i += 4) {
    [b[i], b[i + 1], b[i + 2], b[i + 3]] = [b[i + 3], b[i + 2], b[i + 1], b[i]];
  }
}
