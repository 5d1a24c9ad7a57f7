// Candidate species embeddings computed with the model's own text encoder, kept on disk in the official
// TreeOfLife-200M layout (txt_emb_species.npy [dim, N] + txt_emb_species.json), so that the same reader serves
// official and computed embeddings and a cache folder can be passed as --species-embeddings.
import { createHash, randomBytes } from 'node:crypto';
import { access, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { embedTaxa, OPENAI_IMAGENET_TEMPLATES } from '../../classify/index.ts';
import type { ModelInfo } from '../../client.ts';
import type { ModelManifest } from '../../models/manifest.schema.ts';
import type { Reporter } from '../progress.ts';
import { columnsToNpy } from './npy-writer.ts';
import { OFFICIAL_JSON, OFFICIAL_NPY } from './species-source.ts';
import type { SpeciesList } from './species-list.ts';

const CACHE_FORMAT = 1;
// Species per text-encoder call: 16 × 80 templates = 1,280 texts, a whole number of 64-text batches.
const SPECIES_PER_CALL = 16;

/** What the cache needs of a model: the CLI's LocalModel and the service's classifier both provide it. */
export interface SpeciesTextModel {
  readonly info: ModelInfo;
  readonly manifest: ModelManifest;
  readonly embeddingDim: number;
  readonly textEncoderSha256: string;
  embedTexts(texts: readonly string[]): Promise<Float32Array[]>;
}

export interface CachedSpeciesEmbeddings {
  readonly dir: string;
  readonly fromCache: boolean;
}

/**
 * What the embeddings depend on: the text encoder file, the tokenizer, the list's bytes and the templates. Any change
 * gives another folder, so a stale cache is never read.
 */
export function speciesCacheKey(model: SpeciesTextModel, list: SpeciesList, templates: readonly string[]): string {
  const parts = {
    format: CACHE_FORMAT,
    textEncoderSha256: model.textEncoderSha256,
    tokenizerSha256: model.manifest.tokenizer.sha256 ?? null,
    contextLength: model.manifest.tokenizer.contextLength,
    listSha256: list.sha256,
    templatesSha256: createHash('sha256').update(JSON.stringify(templates)).digest('hex'),
  };
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/**
 * The folder holding the list's zero-shot embeddings (make_txt_embedding.py semantics: lineage + common name in every
 * template, each embedding normalised, averaged, renormalised); computed once, then read from the cache.
 */
export async function speciesEmbeddingsFor(
  model: SpeciesTextModel,
  list: SpeciesList,
  options: { cacheDir: string; reporter: Reporter; templates?: readonly string[] },
): Promise<CachedSpeciesEmbeddings> {
  const templates = options.templates ?? OPENAI_IMAGENET_TEMPLATES;
  const dir = path.join(path.resolve(options.cacheDir), 'species-text-embeddings', speciesCacheKey(model, list, templates));
  if (await exists(path.join(dir, 'meta.json'))) return { dir, fromCache: true };

  const progress = options.reporter.task(
    `embedding ${list.species.length} candidate species × ${templates.length} templates (cached afterwards)`,
    list.species.length,
    'species',
  );
  const vectors = await embedTaxa(list.species, (texts) => model.embedTexts(texts), {
    dim: model.embeddingDim,
    templates,
    classesPerCall: SPECIES_PER_CALL,
    onProgress: (done) => progress.update(done),
  });
  progress.finish();

  // Written whole into a sibling folder, then renamed: a reader never sees a half-written cache entry.
  await mkdir(path.dirname(dir), { recursive: true });
  const staging = `${dir}.${randomBytes(6).toString('hex')}.tmp`;
  await mkdir(staging);
  try {
    await writeFile(path.join(staging, OFFICIAL_NPY), columnsToNpy(vectors, model.embeddingDim));
    await writeFile(path.join(staging, OFFICIAL_JSON), `${JSON.stringify(list.species.map((s) => [s.lineage, s.commonName]))}\n`);
    const meta = {
      format: CACHE_FORMAT,
      model: model.info,
      textEncoderSha256: model.textEncoderSha256,
      list: { file: list.file, sha256: list.sha256, species: list.species.length },
      templates: templates.length,
      createdAt: new Date().toISOString(),
    };
    await writeFile(path.join(staging, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
    await rename(staging, dir);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    // Another run finished the same entry first: theirs is identical.
    if (await exists(path.join(dir, 'meta.json'))) return { dir, fromCache: false };
    throw error;
  }
  return { dir, fromCache: false };
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}
