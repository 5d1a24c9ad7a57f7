import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NpyColumnReader } from '../../src/classify/official/npy-column-reader.ts';
import { OfficialSpeciesEmbeddings, type OfficialSpeciesEmbedding } from '../../src/classify/official/official-species-embeddings.ts';
import { RANKS, type RankName } from '../../src/classify/ranks.ts';
import type { Subset } from '../../src/classify/candidates.ts';
import type { PredictionRow } from '../../src/classify/rows.ts';

export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
export const officialFiles = (name: string) => ({ npy: `${FIXTURES}${name}/txt_emb_species.npy`, json: `${FIXTURES}${name}/txt_emb_species.json` });

export interface ReferenceRow {
  lineage: string[];
  score: number;
}
export interface ReferenceAnswer {
  rank: RankName;
  lineage: string[];
  score: number;
}
export interface ReferenceScenario {
  name: string;
  subset: Subset | null;
  minProb: number;
  results: {
    top: Record<RankName, ReferenceRow[]>;
    groupCount: Record<RankName, number>;
    answer50: ReferenceAnswer | null;
    answer90: ReferenceAnswer | null;
  }[];
}
export interface Reference {
  logitScale: number;
  k: number;
  species: { lineage: string[]; commonName: string }[];
  scenarios: ReferenceScenario[];
  customLabels: {
    labels: { label: string; bin: string; species: number }[];
    results: { labels: number[]; bins: Record<string, number> }[];
  };
  zeroShot: {
    templatesFirstThree: string[];
    classes: { lineage: string[]; commonName: string; label: string; embedding: number[] }[];
  };
}

/** Float64 results written by models/tools/classify_reference/make_classify_fixtures.py. */
export const reference: Reference = JSON.parse(readFileSync(`${FIXTURES}reference.json`, 'utf8'));

export async function readOfficial(name: string): Promise<{ records: OfficialSpeciesEmbedding[]; reader: OfficialSpeciesEmbeddings }> {
  const f = officialFiles(name);
  const reader = await OfficialSpeciesEmbeddings.open(f.npy, f.json);
  const records: OfficialSpeciesEmbedding[] = [];
  try {
    for await (const r of reader.stream()) records.push(r);
  } finally {
    await reader.close();
  }
  return { records, reader };
}

/** The fixture image embeddings (queries.npy, one per column). */
export async function readQueries(): Promise<Float32Array[]> {
  const npy = await NpyColumnReader.open(`${FIXTURES}queries.npy`, 768);
  try {
    const block = await npy.readColumns(0, npy.columns);
    return Array.from({ length: npy.columns }, (_, i) => block.slice(i * 768, (i + 1) * 768));
  } finally {
    await npy.close();
  }
}

/** The lineage a pybioclip row stands for (species: with the epithet last). */
export function rowLineage(row: PredictionRow, rank: number): string[] {
  const r = row as unknown as Record<string, string>;
  if (rank === 6) return [...RANKS.slice(0, 6).map((n) => r[n]), r.species_epithet];
  return RANKS.slice(0, rank + 1).map((n) => r[n]);
}

export interface Float64Tree {
  /** Per rank: lineage prefix (joined by \u0000) → probability. */
  readonly ranks: Map<string, number>[];
  readonly species: Float64Array;
}

/**
 * A direct float64 softmax over the candidates, written independently of the engine: every logit in float64, sums in
 * float64, groups keyed by the whole lineage prefix.
 */
export function float64Tree(
  species: readonly { lineage: readonly string[]; embedding: ArrayLike<number> }[],
  image: ArrayLike<number>,
  logitScale: number,
  candidates: readonly number[],
  minProb = 0,
): Float64Tree {
  let n = 0;
  for (let k = 0; k < image.length; k++) n += image[k] * image[k];
  n = Math.sqrt(n);
  const logits = candidates.map((i) => {
    let s = 0;
    const e = species[i].embedding;
    for (let k = 0; k < image.length; k++) s += e[k] * (image[k] / n);
    return logitScale * s;
  });
  const max = Math.max(...logits);
  const w = logits.map((l) => Math.exp(l - max));
  const z = w.reduce((a, b) => a + b, 0);
  const p = new Float64Array(species.length);
  candidates.forEach((i, j) => (p[i] = w[j] / z));
  const ranks = RANKS.map((_, r) => {
    const m = new Map<string, number>();
    for (const i of candidates) {
      if (r < 6 && !(p[i] > minProb)) continue;
      const key = species[i].lineage.slice(0, r + 1).join('\u0000') + (r === 6 ? `\u0000#${i}` : '');
      m.set(key, (m.get(key) ?? 0) + p[i]);
    }
    return m;
  });
  return { ranks, species: p };
}

export function expectClose(actual: number, expected: number, relative: number): void {
  const diff = Math.abs(actual - expected);
  if (!(diff <= relative * Math.abs(expected))) {
    throw new Error(`expected ${actual} to equal ${expected} within ${relative} relative (off by ${diff / Math.abs(expected)})`);
  }
}

/** Array.fromAsync arrived in Node 22. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** Deterministic pseudo-random floats in [0, 1) (mulberry32). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
