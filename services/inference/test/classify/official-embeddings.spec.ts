import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { ClassifyError } from '../../src/classify/errors.ts';
import { NpyColumnReader } from '../../src/classify/official/npy-column-reader.ts';
import { OfficialSpeciesEmbeddings } from '../../src/classify/official/official-species-embeddings.ts';
import { JsonArrayScanner } from '../../src/classify/official/json-array-scanner.ts';
import { countSpeciesLabels, streamSpeciesLabels } from '../../src/classify/official/species-label-reader.ts';
import { collect, officialFiles, readOfficial, reference } from './classify-fixtures.ts';

const tmp = mkdtempSync(join(tmpdir(), 'arbor-classify-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return e instanceof ClassifyError ? e.code : String(e);
  }
  return 'no error';
}

/** A hand-made .npy (for malformed cases only; the good fixtures are written by numpy). */
function npyFile(name: string, header: string, data: Uint8Array, version = 1): string {
  const pre = version === 1 ? 10 : 12;
  let text = header;
  while ((pre + text.length + 1) % 64 !== 0) text += ' ';
  text += '\n';
  const bytes = new Uint8Array(pre + text.length + data.length);
  bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(bytes.buffer);
  if (version === 1) view.setUint16(8, text.length, true);
  else view.setUint32(8, text.length, true);
  bytes.set(new TextEncoder().encode(text), pre);
  bytes.set(data, pre + text.length);
  const path = join(tmp, name);
  writeFileSync(path, bytes);
  return path;
}

describe('.npy column reader', () => {
  it('reads numpy-written headers of versions 1.0, 2.0 and 3.0 (Fortran order)', async () => {
    const v1 = await NpyColumnReader.open(officialFiles('tol-v1').npy, 768);
    const v2 = await NpyColumnReader.open(officialFiles('tol-v2').npy, 768);
    const v3 = await NpyColumnReader.open(officialFiles('tol-v3-fortran').npy, 768);
    try {
      expect(v1.header).toMatchObject({ version: [1, 0], descr: '<f4', fortranOrder: false, shape: [768, 57] });
      expect(v2.header).toMatchObject({ version: [2, 0], descr: '<f4', fortranOrder: false, shape: [768, 57] });
      expect(v3.header).toMatchObject({ version: [3, 0], descr: '<f4', fortranOrder: true, shape: [768, 12] });
      expect(v1.header.dataOffset % 64).toBe(0);
      // The same species, read through the C-order transpose and the Fortran direct path, are bit-identical.
      const a = await v1.readColumns(3, 9);
      const b = await v3.readColumns(3, 9);
      const c = await v2.readColumns(3, 9);
      expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
      expect(Buffer.from(a.buffer).equals(Buffer.from(c.buffer))).toBe(true);
      // Column j of a C-ordered [768, N] array: element (r, j) sits at offset (r·N + j)·4.
      const raw = readFileSync(officialFiles('tol-v1').npy);
      const element = (r: number, j: number) => raw.readFloatLE(v1.header.dataOffset + (r * 57 + j) * 4);
      for (const [j, r] of [[3, 0], [5, 767], [11, 400]]) expect(a[(j - 3) * 768 + r]).toBe(element(r, j));
      const tail = await v1.readColumns(50, 7);
      expect(tail.every((v) => v === 0)).toBe(true);
    } finally {
      await Promise.all([v1.close(), v2.close(), v3.close()]);
    }
  });

  it('refuses files that are not float32 [dim, N] arrays', async () => {
    const f32 = new Uint8Array(768 * 2 * 4);
    expect(await codeOf(NpyColumnReader.open(join(tmp, 'missing.npy')))).toMatch(/ENOENT/);
    writeFileSync(join(tmp, 'magic.npy'), 'not a numpy file at all');
    expect(await codeOf(NpyColumnReader.open(join(tmp, 'magic.npy')))).toBe('INVALID_NPY');
    const f64 = npyFile('f64.npy', "{'descr': '<f8', 'fortran_order': False, 'shape': (768, 1), }", f32);
    expect(await codeOf(NpyColumnReader.open(f64))).toBe('INVALID_NPY');
    const big = npyFile('big.npy', "{'descr': '>f4', 'fortran_order': False, 'shape': (768, 2), }", f32);
    expect(await codeOf(NpyColumnReader.open(big))).toBe('INVALID_NPY');
    const dim = npyFile('dim.npy', "{'descr': '<f4', 'fortran_order': False, 'shape': (512, 3), }", f32);
    expect(await codeOf(NpyColumnReader.open(dim, 768))).toBe('DIMENSION_MISMATCH');
    const flat = npyFile('flat.npy', "{'descr': '<f4', 'fortran_order': False, 'shape': (1536,), }", f32);
    expect(await codeOf(NpyColumnReader.open(flat, 768))).toBe('DIMENSION_MISMATCH');
    const short = npyFile('short.npy', "{'descr': '<f4', 'fortran_order': False, 'shape': (768, 3), }", f32);
    expect(await codeOf(NpyColumnReader.open(short, 768))).toBe('INVALID_NPY');
    const garbled = npyFile('garbled.npy', "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (768, 2), }", f32);
    expect(await codeOf(NpyColumnReader.open(garbled, 768))).toBe('INVALID_NPY');
    const v9 = npyFile('v9.npy', "{'descr': '<f4', 'fortran_order': False, 'shape': (768, 2), }", f32, 9);
    expect(await codeOf(NpyColumnReader.open(v9, 768))).toBe('INVALID_NPY');
    const ok = npyFile('ok.npy', "{'descr': '<f4', 'fortran_order': False, 'shape': (768, 2), }", f32, 2);
    const reader = await NpyColumnReader.open(ok, 768);
    expect(reader.columns).toBe(2);
    await reader.close();
  });
});

describe('species label JSON, streamed', () => {
  const json = readFileSync(officialFiles('tol-v2').json, 'utf8');
  const parsed = JSON.parse(json) as [string[], string][];

  it('splits the array into the same elements as JSON.parse, whatever the chunking', () => {
    for (const size of [1, 2, 3, 7, 64, 1000, json.length]) {
      const scanner = new JsonArrayScanner();
      const elements: string[] = [];
      for (let i = 0; i < json.length; i += size) elements.push(...scanner.push(json.slice(i, i + size)));
      scanner.end();
      expect(elements.map((e) => JSON.parse(e)), `chunks of ${size}`).toEqual(parsed);
    }
  });

  it('handles every JSON value shape at the top level', () => {
    const text = ' [ "a\\"]" , 12 ,-3.5e2,true,null,{"x":[1,"}"]},[[]] ] ';
    for (const size of [1, 4, text.length]) {
      const scanner = new JsonArrayScanner();
      const out: string[] = [];
      for (let i = 0; i < text.length; i += size) out.push(...scanner.push(text.slice(i, i + size)));
      scanner.end();
      expect(out.map((e) => JSON.parse(e))).toEqual(JSON.parse(text));
    }
    const empty = new JsonArrayScanner();
    expect(empty.push('[ ]')).toEqual([]);
    empty.end();
  });

  it('reads labels across UTF-8 sequences split between reads, and resumes from an index', async () => {
    const path = officialFiles('tol-v2').json;
    const labels = [];
    for await (const l of streamSpeciesLabels(path, { chunkBytes: 7 })) labels.push(l);
    expect(labels.map((l) => [l.lineage, l.commonName])).toEqual(parsed);
    expect(labels.find((l) => l.lineage[5] === 'Boletus')?.commonName).toBe('Cèpe de Bordeaux');
    expect(labels.find((l) => l.lineage[5] === 'Danaus')?.commonName).toBe('Monarch "king billy"');
    const resumed = [];
    for await (const l of streamSpeciesLabels(path, { fromIndex: 40, chunkBytes: 13 })) resumed.push(l);
    expect(resumed.map((l) => l.index)).toEqual(labels.slice(40).map((l) => l.index));
    expect(resumed).toEqual(labels.slice(40));
    expect(await countSpeciesLabels(path)).toBe(57);
  });

  it('refuses malformed label files with INVALID_LABEL_FILE', async () => {
    const cases: Record<string, string> = {
      'not-array.json': '{"a": 1}',
      'unclosed.json': '[[["A","B","C","D","E","F","g"],"x"]',
      'trailing.json': '[[["A","B","C","D","E","F","g"],"x"]] extra',
      'six-names.json': '[[["A","B","C","D","E","F"],"x"]]',
      'number-name.json': '[[["A","B","C","D","E","F",7],"x"]]',
      'not-pair.json': '[["A","B","C","D","E","F","g"]]',
      'bad-json.json': '[[["A","B","C","D","E","F","g"],x]]',
      'double-comma.json': '[[["A","B","C","D","E","F","g"],"x"],,[["A","B","C","D","E","F","g"],"x"]]',
    };
    for (const [name, text] of Object.entries(cases)) {
      writeFileSync(join(tmp, name), text);
      const read = async () => {
        for await (const _ of streamSpeciesLabels(join(tmp, name))) void _;
      };
      expect(await codeOf(read()), name).toBe('INVALID_LABEL_FILE');
    }
    writeFileSync(join(tmp, 'null-common.json'), '[[["A",null,"C","D","E","F","g"],null]]');
    const [only] = await collect(streamSpeciesLabels(join(tmp, 'null-common.json')));
    expect(only).toEqual({ index: 0, lineage: ['A', '', 'C', 'D', 'E', 'F', 'g'], commonName: '' });
  });
});

describe('official species embedding files', () => {
  it('drops zero padding past the last label', async () => {
    const { records, reader } = await readOfficial('tol-v1');
    expect(reader.layout).toMatchObject({ dim: 768, columns: 57, labels: 50, paddingColumns: 7, npyVersion: [1, 0] });
    expect(records).toHaveLength(50);
    expect(reader.emptyColumns).toEqual([]);
    records.forEach((r, i) => {
      expect(r.column).toBe(i);
      expect(r.lineage).toEqual(reference.species[i].lineage);
      expect(r.commonName).toBe(reference.species[i].commonName);
      expect(Math.abs(Math.hypot(...r.embedding) - 1)).toBeLessThan(1e-6);
    });
  });

  it('skips labelled columns that were never embedded (all zero) and lists them', async () => {
    const { records, reader } = await readOfficial('tol-v2');
    expect(reader.layout).toMatchObject({ columns: 57, labels: 57, paddingColumns: 0, npyVersion: [2, 0] });
    expect(records).toHaveLength(50);
    expect(reader.emptyColumns).toEqual([50, 51, 52, 53, 54, 55, 56]);
    const v1 = await readOfficial('tol-v1');
    expect(records).toEqual(v1.records);
  });

  it('reads Fortran-ordered files, in any block size, and resumes from a column', async () => {
    const v1 = (await readOfficial('tol-v1')).records;
    const { records } = await readOfficial('tol-v3-fortran');
    expect(records).toEqual(v1.slice(0, 12));
    const f = officialFiles('tol-v1');
    const reader = await OfficialSpeciesEmbeddings.open(f.npy, f.json, { blockColumns: 6 });
    const progress: number[] = [];
    const resumed = await collect(reader.stream({ fromColumn: 31, onProgress: (done) => progress.push(done) }));
    await reader.close();
    expect(resumed).toEqual(v1.slice(31));
    expect(progress).toEqual([37, 43, 49, 50]);
  });

  it('refuses files that do not belong together', async () => {
    const v1 = officialFiles('tol-v1');
    const v3 = officialFiles('tol-v3-fortran');
    // 50 labels, 12 columns.
    expect(await codeOf(OfficialSpeciesEmbeddings.open(v3.npy, v1.json))).toBe('FILE_MISMATCH');
    // 12 labels, 57 columns of which 38 unlabelled ones are not zero.
    expect(await codeOf(OfficialSpeciesEmbeddings.open(v1.npy, v3.json))).toBe('FILE_MISMATCH');
    const bad = new Float32Array(768 * 2).fill(0.01);
    bad[768 + 5] = Number.NaN;
    const nan = npyFile('nan.npy', "{'descr': '<f4', 'fortran_order': True, 'shape': (768, 2), }", new Uint8Array(bad.buffer));
    writeFileSync(join(tmp, 'two.json'), JSON.stringify([[['A', 'B', 'C', 'D', 'E', 'F', 'g'], ''], [['A', 'B', 'C', 'D', 'E', 'F', 'h'], '']]));
    const reader = await OfficialSpeciesEmbeddings.open(nan, join(tmp, 'two.json'));
    expect(await codeOf(collect(reader.stream()))).toBe('NON_FINITE');
    await reader.close();
  });
});
