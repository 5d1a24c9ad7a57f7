// The candidate species of the service's tree-of-life classifier, read the same way as `arbor predict` reads them:
// official TreeOfLife-200M files as they are, or a species list embedded with the loaded model's text encoder (and
// cached on disk, keyed by that encoder), so the service and the CLI give the same answers.
import path from 'node:path';

import { chooseScorer, TreeOfLifeClassifier } from '../classify/index.ts';
import { speciesEmbeddingsFor, type SpeciesTextModel } from '../cli/species/species-cache.ts';
import { readSpeciesList } from '../cli/species/species-list.ts';
import { loadSpeciesIndex, type LoadedSpecies } from '../cli/species/species-source.ts';
import type { Reporter } from '../cli/progress.ts';
import type { CatalogBuildProgress, SpeciesCandidates } from '../client.ts';
import type { InferenceConfig } from '../config.ts';
import { kernels, nativeKernelsUnavailable } from '../classify/kernels/index.ts';
import type { Logger } from '../logger.ts';

/** Where the candidates come from (CLASSIFY_SPECIES_EMBEDDINGS, else CLASSIFY_SPECIES_LIST). */
export type CatalogSource =
  | { readonly kind: 'species-embeddings'; readonly dir: string }
  | { readonly kind: 'species-list'; readonly file: string; readonly cacheDir: string };

export function catalogSource(config: InferenceConfig): CatalogSource {
  return config.classifySpeciesEmbeddings
    ? { kind: 'species-embeddings', dir: config.classifySpeciesEmbeddings }
    : { kind: 'species-list', file: config.classifySpeciesList, cacheDir: config.cacheDir };
}

/** What a response says about the candidates (the client's `SpeciesCandidates`). */
export type CatalogDescription = SpeciesCandidates;

export interface SpeciesCatalog {
  readonly classifier: TreeOfLifeClassifier;
  readonly description: CatalogDescription;
  close(): Promise<void>;
}

/** How far the current step of building a catalog is (GET /v1/classify/status). */
export type CatalogProgress = CatalogBuildProgress;

/** Progress of catalog loading as structured log lines (every 10 % at most), and every update to `onProgress`. */
export function logReporter(logger: Logger, onProgress?: (progress: CatalogProgress) => void): Reporter {
  return {
    note: (message) => logger.info(message),
    task(label, total, unit) {
      const startedAt = performance.now();
      let shownTenths = -1;
      onProgress?.({ step: label, done: 0, total, unit });
      return {
        update(done) {
          onProgress?.({ step: label, done, total, unit });
          const tenths = total > 0 ? Math.floor((10 * done) / total) : 0;
          if (tenths === shownTenths) return;
          shownTenths = tenths;
          logger.info({ done, total, unit }, label);
        },
        finish() {
          onProgress?.({ step: label, done: total, total, unit });
          logger.info({ total, unit, seconds: Math.round((performance.now() - startedAt) / 100) / 10 }, `${label}: done`);
        },
      };
    },
  };
}

async function loadCandidates(model: SpeciesTextModel, source: CatalogSource, reporter: Reporter): Promise<LoadedSpecies> {
  if (source.kind === 'species-embeddings') return loadSpeciesIndex(source.dir, { dim: model.embeddingDim, reporter });
  const list = await readSpeciesList(source.file);
  const cached = await speciesEmbeddingsFor(model, list, { cacheDir: source.cacheDir, reporter });
  if (cached.fromCache) reporter.note(`candidate species embeddings read from the cache ${cached.dir}`);
  return loadSpeciesIndex(cached.dir, { dim: model.embeddingDim, reporter });
}

export interface CatalogSessionSettings {
  /** INFERENCE_SPIN_WAIT, for the screening session as for the encoders. */
  spinWait: boolean;
}

export async function loadSpeciesCatalog(
  model: SpeciesTextModel & { logitScale: number },
  source: CatalogSource,
  logger: Logger,
  sessions: CatalogSessionSettings,
  onProgress?: (progress: CatalogProgress) => void,
): Promise<SpeciesCatalog> {
  const reporter = logReporter(logger, onProgress);
  const loaded = await loadCandidates(model, source, reporter);
  const madeBy = loaded.madeBy?.textEncoderSha256;
  if (source.kind === 'species-embeddings' && madeBy !== undefined && madeBy !== model.textEncoderSha256) {
    logger.warn({ dir: source.dir }, 'the species embeddings were made by another text encoder than the loaded model’s');
  }
  if (loaded.skippedColumns > 0) logger.warn({ skippedColumns: loaded.skippedColumns }, 'labelled species with all-zero embeddings are left out');
  const scorer = chooseScorer(loaded.index, { spinWait: sessions.spinWait });
  const classifier = new TreeOfLifeClassifier(loaded.index, { logitScale: model.logitScale, scorer });
  const description: CatalogDescription = {
    source: source.kind,
    name: path.basename(source.kind === 'species-embeddings' ? source.dir : source.file),
    species: loaded.index.size,
  };
  logger.info(
    { ...description, scorer: scorer.name, kernels: kernels.name, ...(nativeKernelsUnavailable ? { nativeKernels: nativeKernelsUnavailable } : {}) },
    'classifier ready',
  );
  return { classifier, description, close: async () => scorer.close?.() };
}
