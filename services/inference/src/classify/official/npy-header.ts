import { ClassifyError } from '../errors.ts';

/** What a .npy header says about the array that follows it. */
export interface NpyHeader {
  readonly version: readonly [number, number];
  readonly descr: string;
  readonly fortranOrder: boolean;
  readonly shape: readonly number[];
  /** Byte offset of the first array element. */
  readonly dataOffset: number;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
/** Enough bytes for the preamble of any version; the header itself is read after its length is known. */
export const NPY_PREAMBLE_BYTES = 12;

/** Header length and where the header starts, from the first 12 bytes. */
export function parseNpyPreamble(bytes: Uint8Array): { version: [number, number]; headerStart: number; headerLength: number } {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw new ClassifyError('INVALID_NPY', 'not a .npy file (bad magic string)');
  const major = bytes[6];
  const minor = bytes[7];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (major === 1) return { version: [major, minor], headerStart: 10, headerLength: view.getUint16(8, true) };
  if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new ClassifyError('INVALID_NPY', 'truncated .npy preamble');
    return { version: [major, minor], headerStart: 12, headerLength: view.getUint32(8, true) };
  }
  throw new ClassifyError('INVALID_NPY', `unsupported .npy format version ${major}.${minor}`);
}

/** Parses the header dict, e.g. "{'descr': '<f4', 'fortran_order': False, 'shape': (768, 50), }". */
export function parseNpyHeader(preamble: ReturnType<typeof parseNpyPreamble>, headerBytes: Uint8Array): NpyHeader {
  // Versions 1 and 2 are latin-1, version 3 is UTF-8; the keys and values we accept are ASCII either way.
  const text = preamble.version[0] === 3 ? new TextDecoder().decode(headerBytes) : String.fromCharCode(...headerBytes);
  const dict = new PythonLiteralParser(text).parseDict();
  const descr = dict.get('descr');
  const fortran = dict.get('fortran_order');
  const shape = dict.get('shape');
  if (typeof descr !== 'string') throw new ClassifyError('INVALID_NPY', "header has no string 'descr'");
  if (typeof fortran !== 'boolean') throw new ClassifyError('INVALID_NPY', "header has no boolean 'fortran_order'");
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
    throw new ClassifyError('INVALID_NPY', "header has no integer tuple 'shape'");
  }
  return { version: preamble.version, descr, fortranOrder: fortran, shape: shape as number[], dataOffset: preamble.headerStart + preamble.headerLength };
}

type PyValue = string | number | boolean | PyValue[];

/** The subset of Python literal syntax numpy writes in headers: dicts, str, int, True/False, tuples. */
class PythonLiteralParser {
  private i = 0;
  constructor(private readonly s: string) {}

  parseDict(): Map<string, PyValue> {
    this.expect('{');
    const out = new Map<string, PyValue>();
    for (;;) {
      this.space();
      if (this.peek() === '}') break;
      const key = this.value();
      if (typeof key !== 'string') this.fail('dict key is not a string');
      this.space();
      this.expect(':');
      out.set(key as string, this.value());
      this.space();
      if (this.peek() === ',') this.i++;
      else if (this.peek() !== '}') this.fail("expected ',' or '}'");
    }
    this.i++;
    this.space();
    if (this.i !== this.s.length) this.fail('trailing characters after the header dict');
    return out;
  }

  private value(): PyValue {
    this.space();
    const c = this.peek();
    if (c === "'" || c === '"') {
      const end = this.s.indexOf(c, this.i + 1);
      if (end < 0) this.fail('unterminated string');
      const v = this.s.slice(this.i + 1, end);
      this.i = end + 1;
      return v;
    }
    if (c === '(' || c === '[') {
      const close = c === '(' ? ')' : ']';
      this.i++;
      const items: PyValue[] = [];
      for (;;) {
        this.space();
        if (this.peek() === close) break;
        items.push(this.value());
        this.space();
        if (this.peek() === ',') this.i++;
        else if (this.peek() !== close) this.fail(`expected ',' or '${close}'`);
      }
      this.i++;
      return items;
    }
    const m = /^(True|False|-?\d+)L?/.exec(this.s.slice(this.i));
    if (!m) this.fail('unexpected token');
    this.i += m![0].length;
    if (m![1] === 'True') return true;
    if (m![1] === 'False') return false;
    return Number(m![1]);
  }

  private space(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i])) this.i++;
  }

  private peek(): string {
    return this.s[this.i];
  }

  private expect(c: string): void {
    this.space();
    if (this.s[this.i] !== c) this.fail(`expected '${c}'`);
    this.i++;
  }

  private fail(why: string): never {
    throw new ClassifyError('INVALID_NPY', `bad .npy header at character ${this.i}: ${why}`);
  }
}
