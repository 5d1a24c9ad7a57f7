// A minimal, independent reader of the committed .npy fixtures (version 1.0, '<f4', C order, 2-D),
// so the tests compare stored vectors with the file's bytes, not with the importer's own reader.
import { readFileSync } from "node:fs";

export interface NpyMatrix {
  rows: number;
  columns: number;
  /** Column `j` of the [rows, columns] matrix: one species of the official layout. */
  column(j: number): Float32Array;
}

export function readNpyMatrix(path: string): NpyMatrix {
  const bytes = readFileSync(path);
  if (bytes.toString("latin1", 1, 6) !== "NUMPY" || bytes[6] !== 1) throw new Error(`${path}: not a version 1 .npy file`);
  const headerLength = bytes.readUInt16LE(8);
  const header = bytes.toString("latin1", 10, 10 + headerLength);
  if (!header.includes("'descr': '<f4'") || !header.includes("'fortran_order': False")) throw new Error(`${path}: expected C-order float32`);
  const shape = /'shape': \((\d+), (\d+)\)/.exec(header);
  if (!shape) throw new Error(`${path}: expected a 2-D shape`);
  const rows = Number(shape[1]);
  const columns = Number(shape[2]);
  const offset = 10 + headerLength;
  return {
    rows,
    columns,
    column(j) {
      const out = new Float32Array(rows);
      for (let i = 0; i < rows; i++) out[i] = bytes.readFloatLE(offset + (i * columns + j) * 4);
      return out;
    },
  };
}
