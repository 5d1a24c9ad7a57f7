// Version 1.0 .npy header: magic, version, little-endian header length, then a Python dict literal padded with
// spaces and ended by '\n' so that the data starts on a 64-byte boundary (what numpy itself writes).
const MAGIC = [0x93, ...Buffer.from('NUMPY', 'latin1')];
const ALIGNMENT = 64;

/**
 * A little-endian float32 C-order .npy of shape [rows, columns] from `columns` vectors of length `rows` — the layout
 * of the official `txt_emb_species.npy` ([dim, species], one species per column).
 */
export function columnsToNpy(vectors: readonly ArrayLike<number>[], rows: number): Uint8Array {
  const columns = vectors.length;
  let dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${columns}), }`;
  const preamble = MAGIC.length + 2 + 2;
  const padding = ALIGNMENT - ((preamble + dict.length + 1) % ALIGNMENT);
  dict = `${dict}${' '.repeat(padding % ALIGNMENT)}\n`;
  const out = new Uint8Array(preamble + dict.length + rows * columns * 4);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, dict.length, true);
  out.set(Buffer.from(dict, 'latin1'), preamble);
  const data = new DataView(out.buffer, preamble + dict.length);
  vectors.forEach((vector, c) => {
    if (vector.length !== rows) throw new RangeError(`vector ${c} has ${vector.length} values, expected ${rows}`);
    for (let r = 0; r < rows; r++) data.setFloat32((r * columns + c) * 4, vector[r], true);
  });
  return out;
}
