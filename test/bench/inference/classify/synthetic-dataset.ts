import { closeSync, existsSync, openSync, readSync, renameSync, writeSync } from "node:fs";
import { Random } from "../../lib/prng.ts";
import type { Progress } from "../../lib/progress.ts";
import { buildTree, GROUP_RANKS, type SyntheticTree } from "./synthetic-tree.ts";

/**
 * Shares of each species vector's squared norm: a component common to all species, one per group at
 * each rank, and the species' own. Two species that share their lineage down to rank r have cosine
 * ≈ common + Σ shares down to r: 0.30 (different kingdoms) … 0.72 (same family), 0.85 (same genus),
 * roughly how label text embeddings share the words of their lineage.
 */
export const SHARES = { common: 0.3, ranks: [0.1, 0.08, 0.08, 0.08, 0.08, 0.13], species: 0.15 } as const;

const MAGIC = "ARBCLS02";
const HEADER_BYTES = 4096;
const ALIGN = 64;
const CHUNK_SPECIES = 4096;

/** The species side: the tree and its vectors. */
export interface SpeciesParameters {
  species: number;
  dim: number;
  seed: number;
}

/** The query side, drawn around species of a species file. */
export interface QueryParameters extends SpeciesParameters {
  queries: number;
  /** q = normalise(s + σ·n), n ≈ a random unit vector: cos(q, s) ≈ 1/√(1 + σ²). */
  queryNoise: number;
}

interface Section {
  offset: number;
  bytes: number;
}

export interface SpeciesFileHeader extends SpeciesParameters {
  kind: "species";
  shares: typeof SHARES;
  groupCounts: number[];
  sections: { species: Section; groups: Section };
}

export interface QueryFileHeader extends QueryParameters {
  kind: "queries";
  sections: { queries: Section; truth: Section };
}

export interface Dataset {
  speciesPath: string;
  queriesPath: string;
  header: SpeciesFileHeader;
  queryHeader: QueryFileHeader;
  tree: SyntheticTree;
  /** species × dim, lineage order. */
  vectors: Float32Array;
  /** queries × dim. */
  queries: Float32Array;
  /** The species each query was drawn around. */
  truth: Int32Array;
}

/**
 * A random vector of norm ≈ `scale` (± 2.5 % at 768 dimensions): iid coordinates, uniform with unit
 * variance. Uniform instead of Gaussian coordinates is 20× cheaper to draw, and in 768 dimensions
 * the difference does not show in dot products (they are sums of hundreds of terms).
 */
function randomVector(random: Random, out: Float64Array, scale: number): void {
  const s = (scale / Math.sqrt(out.length)) * 2 * Math.sqrt(3);
  for (let i = 0; i < out.length; i++) out[i] = (random.uint32() / 4294967296 - 0.5) * s;
}

/** Builds species vectors in position order, regenerating each group's vector when the group changes. */
class VectorSynth {
  private readonly common: Float64Array;
  private readonly rankVectors: Float64Array[];
  private readonly currentGroup: number[];
  private readonly scratch: Float64Array;

  constructor(
    private readonly tree: SyntheticTree,
    private readonly seed: number,
    private readonly dim: number,
  ) {
    this.common = new Float64Array(dim);
    randomVector(new Random(seed, 100), this.common, Math.sqrt(SHARES.common));
    this.rankVectors = GROUP_RANKS.map(() => new Float64Array(dim));
    this.currentGroup = GROUP_RANKS.map(() => -1);
    this.scratch = new Float64Array(dim);
  }

  private rankVector(rank: number, group: number): Float64Array {
    const vector = this.rankVectors[rank]!;
    if (this.currentGroup[rank] !== group) {
      randomVector(new Random(this.seed, 101 + rank, group), vector, Math.sqrt(SHARES.ranks[rank]!));
      this.currentGroup[rank] = group;
    }
    return vector;
  }

  /** Unit species vector of position p, in float64 (written to `out`). */
  species(p: number, out: Float64Array): void {
    out.set(this.common);
    for (let r = 0; r < GROUP_RANKS.length; r++) {
      const v = this.rankVector(r, this.tree.groupOf[r]![p]!);
      for (let i = 0; i < this.dim; i++) out[i]! += v[i]!;
    }
    randomVector(new Random(this.seed, 110, p), this.scratch, Math.sqrt(SHARES.species));
    let norm = 0;
    for (let i = 0; i < this.dim; i++) {
      out[i]! += this.scratch[i]!;
      norm += out[i]! * out[i]!;
    }
    norm = Math.sqrt(norm);
    for (let i = 0; i < this.dim; i++) out[i]! /= norm;
  }
}

function sectionsAt<K extends string>(sizes: Record<K, number>): Record<K, Section> {
  const sections = {} as Record<K, Section>;
  let offset = HEADER_BYTES;
  for (const [name, bytes] of Object.entries(sizes) as [K, number][]) {
    sections[name] = { offset, bytes };
    offset = Math.ceil((offset + bytes) / ALIGN) * ALIGN;
  }
  return sections;
}

function headerBlock(header: SpeciesFileHeader | QueryFileHeader): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const block = Buffer.alloc(HEADER_BYTES);
  if (12 + json.length > block.length) throw new Error("data set header too long");
  block.write(MAGIC, 0, "latin1");
  block.writeUInt32LE(json.length, 8);
  json.copy(block, 12);
  return block;
}

export function readHeader<H extends SpeciesFileHeader | QueryFileHeader>(path: string): H | undefined {
  if (!existsSync(path)) return undefined;
  const fd = openSync(path, "r");
  try {
    const block = Buffer.alloc(HEADER_BYTES);
    readSync(fd, block, 0, block.length, 0);
    if (block.toString("latin1", 0, 8) !== MAGIC) return undefined;
    return JSON.parse(block.toString("utf8", 12, 12 + block.readUInt32LE(8))) as H;
  } finally {
    closeSync(fd);
  }
}

export function speciesFileMatches(path: string, params: SpeciesParameters): boolean {
  const h = readHeader<SpeciesFileHeader>(path);
  return h?.kind === "species" && h.species === params.species && h.dim === params.dim && h.seed === params.seed && JSON.stringify(h.shares) === JSON.stringify(SHARES);
}

export function queryFileMatches(path: string, params: QueryParameters): boolean {
  const h = readHeader<QueryFileHeader>(path);
  return h?.kind === "queries" && h.species === params.species && h.dim === params.dim && h.seed === params.seed && h.queries === params.queries && h.queryNoise === params.queryNoise;
}

/**
 * The species file both heads read (little-endian): a 4 KiB header block (magic, JSON length, JSON
 * with the section offsets), species float32 [N][dim] in lineage order, group ids int32 [6][N]
 * (kingdom … genus). Row p depends only on (seed, p) and the tree. Written to .tmp, then renamed.
 */
export function writeSpeciesFile(path: string, params: SpeciesParameters, progress: Progress): SpeciesFileHeader {
  const tree = buildTree(params.species, params.seed);
  const header: SpeciesFileHeader = {
    kind: "species",
    ...params,
    shares: SHARES,
    groupCounts: tree.groupCounts,
    sections: sectionsAt({ species: params.species * params.dim * 4, groups: GROUP_RANKS.length * params.species * 4 }),
  };
  const synth = new VectorSynth(tree, params.seed, params.dim);
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, "w");
  try {
    writeSync(fd, headerBlock(header), 0, HEADER_BYTES, 0);
    const row = new Float64Array(params.dim);
    const chunk = new Float32Array(CHUNK_SPECIES * params.dim);
    const counter = progress.counter("species vectors", params.species, "species");
    for (let start = 0; start < params.species; start += CHUNK_SPECIES) {
      const end = Math.min(params.species, start + CHUNK_SPECIES);
      for (let p = start; p < end; p++) {
        synth.species(p, row);
        chunk.set(row, (p - start) * params.dim);
      }
      const bytes = (end - start) * params.dim * 4;
      writeSync(fd, new Uint8Array(chunk.buffer, 0, bytes), 0, bytes, header.sections.species.offset + start * params.dim * 4);
      counter.set(end);
    }
    counter.finish();
    tree.groupOf.forEach((groups, r) => {
      writeSync(fd, new Uint8Array(groups.buffer, groups.byteOffset, groups.byteLength), 0, groups.byteLength, header.sections.groups.offset + r * params.species * 4);
    });
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  return header;
}

/**
 * The query file: queries float32 [Q][dim], each normalise(s_t + σ·n) around a species t drawn
 * uniformly from (seed, q), and the t of each, int32 [Q]. Species vectors are regenerated from
 * (seed, lineage, t), so the species file is not read.
 */
export function writeQueryFile(path: string, params: QueryParameters): QueryFileHeader {
  const tree = buildTree(params.species, params.seed);
  const header: QueryFileHeader = {
    kind: "queries",
    ...params,
    sections: sectionsAt({ queries: params.queries * params.dim * 4, truth: params.queries * 4 }),
  };
  const queries = new Float32Array(params.queries * params.dim);
  const truth = new Int32Array(params.queries);
  const vector = new Float64Array(params.dim);
  const noise = new Float64Array(params.dim);
  for (let q = 0; q < params.queries; q++) {
    const t = new Random(params.seed, 120, q).int(0, params.species - 1);
    truth[q] = t;
    new VectorSynth(tree, params.seed, params.dim).species(t, vector);
    randomVector(new Random(params.seed, 121, q), noise, params.queryNoise);
    let norm = 0;
    for (let i = 0; i < params.dim; i++) {
      vector[i]! += noise[i]!;
      norm += vector[i]! * vector[i]!;
    }
    norm = Math.sqrt(norm);
    for (let i = 0; i < params.dim; i++) queries[q * params.dim + i] = vector[i]! / norm;
  }
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, "w");
  try {
    writeSync(fd, headerBlock(header), 0, HEADER_BYTES, 0);
    writeSync(fd, new Uint8Array(queries.buffer), 0, queries.byteLength, header.sections.queries.offset);
    writeSync(fd, new Uint8Array(truth.buffer), 0, truth.byteLength, header.sections.truth.offset);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  return header;
}

function readSection(fd: number, section: Section): Uint8Array {
  const out = new Uint8Array(section.bytes);
  const step = 1 << 30;
  for (let done = 0; done < section.bytes; ) {
    const n = readSync(fd, out, done, Math.min(step, section.bytes - done), section.offset + done);
    if (n <= 0) throw new Error("dataset file is truncated");
    done += n;
  }
  return out;
}

export function readDataset(speciesPath: string, queriesPath: string): Dataset {
  const header = readHeader<SpeciesFileHeader>(speciesPath);
  const queryHeader = readHeader<QueryFileHeader>(queriesPath);
  if (header?.kind !== "species") throw new Error(`${speciesPath} is not a classify-head species file`);
  if (queryHeader?.kind !== "queries" || queryHeader.species !== header.species || queryHeader.seed !== header.seed) {
    throw new Error(`${queriesPath} is not a query file for ${speciesPath}`);
  }
  const fd = openSync(speciesPath, "r");
  let speciesBytes: Uint8Array;
  let groupBytes: Uint8Array;
  try {
    speciesBytes = readSection(fd, header.sections.species);
    groupBytes = readSection(fd, header.sections.groups);
  } finally {
    closeSync(fd);
  }
  const qfd = openSync(queriesPath, "r");
  let queryBytes: Uint8Array;
  let truthBytes: Uint8Array;
  try {
    queryBytes = readSection(qfd, queryHeader.sections.queries);
    truthBytes = readSection(qfd, queryHeader.sections.truth);
  } finally {
    closeSync(qfd);
  }
  const groupOf = GROUP_RANKS.map((_, r) => new Int32Array(groupBytes.buffer, r * header.species * 4, header.species));
  return {
    speciesPath,
    queriesPath,
    header,
    queryHeader,
    tree: { species: header.species, groupOf, groupCounts: header.groupCounts },
    vectors: new Float32Array(speciesBytes.buffer, 0, header.species * header.dim),
    queries: new Float32Array(queryBytes.buffer),
    truth: new Int32Array(truthBytes.buffer),
  };
}
