import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';

import { OfficialSpeciesEmbeddings, SpeciesIndexBuilder, type SpeciesIndex } from '../../classify/index.ts';
import { fileReadError } from '../errors.ts';
import type { Reporter } from '../progress.ts';

/** File names of the official TreeOfLife-200M species text embeddings (`embeddings/` of the data set). */
export const OFFICIAL_NPY = 'txt_emb_species.npy';
export const OFFICIAL_JSON = 'txt_emb_species.json';

export interface LoadedSpecies {
  readonly index: SpeciesIndex;
  /** Labelled but all-zero columns of the .npy (never embedded upstream): left out of the candidates. */
  readonly skippedColumns: number;
  /** For a folder written by Arbor's cache: which text encoder made it. */
  readonly madeBy?: { readonly textEncoderSha256?: string; readonly model?: { name: string; version: string } };
}

/** Reads `<dir>/txt_emb_species.npy` + `.json` as they are (no re-encoding) into a species index. */
export async function loadSpeciesIndex(dir: string, options: { dim: number; reporter: Reporter }): Promise<LoadedSpecies> {
  const npy = path.join(dir, OFFICIAL_NPY);
  const json = path.join(dir, OFFICIAL_JSON);
  for (const file of [npy, json]) {
    try {
      const stats = await stat(file);
      if (!stats.isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
    } catch (error) {
      throw fileReadError('species embeddings file', file, error);
    }
  }
  const reader = await OfficialSpeciesEmbeddings.open(npy, json, { dim: options.dim });
  try {
    const { labels } = reader.layout;
    const builder = new SpeciesIndexBuilder({ dim: options.dim, capacity: labels });
    const progress = options.reporter.task(`reading species embeddings from ${dir}`, labels, 'species');
    for await (const species of reader.stream({ onProgress: (done) => progress.update(done) })) {
      builder.add({ lineage: species.lineage, commonName: species.commonName, embedding: species.embedding });
    }
    progress.finish();
    return { index: builder.build(), skippedColumns: reader.emptyColumns.length, madeBy: await readMeta(dir) };
  } finally {
    await reader.close();
  }
}

async function readMeta(dir: string): Promise<LoadedSpecies['madeBy']> {
  try {
    return JSON.parse(await readFile(path.join(dir, 'meta.json'), 'utf8')) as LoadedSpecies['madeBy'];
  } catch {
    return undefined;
  }
}
