import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { formatCount } from "../lib/args.ts";
import { RANK_NAMES, speciesVector, syntheticSpecies } from "./synthetic-species.ts";

/**
 * A synthetic pair of official BioCLIP 2 text-embedding files, as TreeOfLife-200M publishes them
 * (`embeddings/txt_emb_species.npy`, float32 [dim, columns] in C order, one species per column,
 * zero-padded tail columns; `embeddings/txt_emb_species.json`, one `[[7 names], common name]` per
 * labelled column), written as they are generated: a block of columns at a time, transposed into
 * one positioned write per matrix row, so memory stays at one block whatever the size. The padding
 * is the file's tail left as a hole by ftruncate (reads as zeros). A manifest written last marks a
 * complete pair, so a later run with the same parameters reuses it.
 */

export interface OfficialFilesParameters {
  species: number;
  /** Zero columns after the last labelled one. */
  paddingColumns: number;
  seed: number;
  dim: number;
}

export interface OfficialFilesManifest extends OfficialFilesParameters {
  /** Bumped whenever the writer's output changes, so stale files are not reused. */
  writer: number;
  npyPath: string;
  jsonPath: string;
  npyBytes: number;
  jsonBytes: number;
  /** Distinct names per rank (species = the labelled columns). */
  byRank: Record<string, number>;
  commonNames: number;
  writeSeconds: number;
}

const WRITER_VERSION = 1;
const MANIFEST = "manifest.json";
const BLOCK_COLUMNS = 4096;
const NPY_MAGIC = Buffer.from([0x93, ...Buffer.from("NUMPY", "latin1"), 1, 0]);
const NPY_ALIGNMENT = 64;

/** The folder of one parameter set under `root`. */
export function officialFilesDir(root: string, params: OfficialFilesParameters): string {
  return join(root, `species-${formatCount(params.species)}-pad${params.paddingColumns}-d${params.dim}-s${params.seed}`);
}

/** The manifest in `dir` when it describes complete files of exactly these parameters. */
export function readMatchingManifest(dir: string, params: OfficialFilesParameters): OfficialFilesManifest | undefined {
  const path = join(dir, MANIFEST);
  if (!existsSync(path)) return undefined;
  const manifest = JSON.parse(readFileSync(path, "utf8")) as OfficialFilesManifest;
  const same =
    manifest.writer === WRITER_VERSION &&
    manifest.species === params.species &&
    manifest.paddingColumns === params.paddingColumns &&
    manifest.seed === params.seed &&
    manifest.dim === params.dim;
  if (!same) return undefined;
  const sizeIs = (file: string, bytes: number) => existsSync(file) && statSync(file).size === bytes;
  return sizeIs(manifest.npyPath, manifest.npyBytes) && sizeIs(manifest.jsonPath, manifest.jsonBytes) ? manifest : undefined;
}

/** A version 1.0 .npy header for little-endian float32 [rows, columns] in C order, padded to 64 bytes as numpy pads it. */
export function npyHeader(rows: number, columns: number): Buffer {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${columns}), }`;
  const unpadded = NPY_MAGIC.length + 2 + dict.length + 1;
  const text = `${dict}${" ".repeat((NPY_ALIGNMENT - (unpadded % NPY_ALIGNMENT)) % NPY_ALIGNMENT)}\n`;
  const length = Buffer.alloc(2);
  length.writeUInt16LE(text.length);
  return Buffer.concat([NPY_MAGIC, length, Buffer.from(text, "latin1")]);
}

/** One element of the label file, with Python json.dump's separators. */
export function labelJson(lineage: readonly string[], commonName: string): string {
  return `[[${lineage.map((name) => JSON.stringify(name)).join(", ")}], ${JSON.stringify(commonName)}]`;
}

/** Writes the pair into `dir` (replacing what is there); `onColumns` gets the labelled columns written so far. */
export function writeOfficialFiles(dir: string, params: OfficialFilesParameters, onColumns?: (done: number) => void): OfficialFilesManifest {
  const { species, paddingColumns, seed, dim } = params;
  if (!Number.isSafeInteger(paddingColumns) || paddingColumns < 0) throw new RangeError(`paddingColumns must be a non-negative integer, got ${paddingColumns}`);
  const started = performance.now();
  mkdirSync(dir, { recursive: true });
  rmSync(join(dir, MANIFEST), { force: true });
  const npyPath = join(dir, "txt_emb_species.npy");
  const jsonPath = join(dir, "txt_emb_species.json");
  const columns = species + paddingColumns;
  const header = npyHeader(dim, columns);
  const npyBytes = header.length + dim * columns * 4;

  const npy = openSync(npyPath, "w");
  const json = openSync(jsonPath, "w");
  const byRank: Record<string, number> = Object.fromEntries(RANK_NAMES.map((rank) => [rank, 0]));
  let commonNames = 0;
  try {
    writeAll(npy, header, 0);
    ftruncateSync(npy, npyBytes);
    writeAll(json, Buffer.from("["), -1);

    const block = new Float32Array(BLOCK_COLUMNS * dim); // column after column
    const rowMajor = new Float32Array(BLOCK_COLUMNS * dim); // matrix row after matrix row
    const rowBytes = new Uint8Array(rowMajor.buffer);
    let inBlock = 0;
    let blockStart = 0;
    let text: string[] = [];
    const flush = () => {
      for (let j = 0; j < inBlock; j++) {
        for (let r = 0; r < dim; r++) rowMajor[r * inBlock + j] = block[j * dim + r]!;
      }
      for (let r = 0; r < dim; r++) {
        const slice = Buffer.from(rowBytes.buffer, r * inBlock * 4, inBlock * 4);
        writeAll(npy, slice, header.length + (r * columns + blockStart) * 4);
      }
      writeAll(json, Buffer.from(text.join("")), -1);
      blockStart += inBlock;
      inBlock = 0;
      text = [];
      onColumns?.(blockStart);
    };

    let previous: readonly string[] = [];
    for (const label of syntheticSpecies(species, seed)) {
      // Depth-first order and per-rank unique names: a rank's name changes exactly when a new group starts.
      for (let r = 0; r < RANK_NAMES.length; r++) if (label.lineage[r] !== previous[r] || r === RANK_NAMES.length - 1) byRank[RANK_NAMES[r]!]!++;
      previous = label.lineage;
      if (label.commonName !== "") commonNames++;
      speciesVector(seed, label.column, block.subarray(inBlock * dim, (inBlock + 1) * dim));
      text.push(`${label.column === 0 ? "" : ", "}${labelJson(label.lineage, label.commonName)}`);
      if (++inBlock === BLOCK_COLUMNS) flush();
    }
    if (inBlock > 0) flush();
    writeAll(json, Buffer.from("]"), -1);
  } finally {
    closeSync(npy);
    closeSync(json);
  }

  const manifest: OfficialFilesManifest = {
    writer: WRITER_VERSION,
    ...params,
    npyPath,
    jsonPath,
    npyBytes,
    jsonBytes: statSync(jsonPath).size,
    byRank,
    commonNames,
    writeSeconds: Math.round((performance.now() - started) / 100) / 10,
  };
  writeFileSync(join(dir, `${MANIFEST}.tmp`), JSON.stringify(manifest, null, 2));
  renameSync(join(dir, `${MANIFEST}.tmp`), join(dir, MANIFEST));
  return manifest;
}

/** writeSync until every byte is out; position −1 appends at the file's current offset. */
function writeAll(fd: number, bytes: Uint8Array, position: number): void {
  let done = 0;
  while (done < bytes.length) {
    done += writeSync(fd, bytes, done, bytes.length - done, position < 0 ? null : position + done);
  }
}
