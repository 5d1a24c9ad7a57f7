import path from 'node:path';

import {
  chooseScorer,
  rankIndex,
  rowColumns,
  TreeOfLifeClassifier,
  type RankName,
  type Subset,
  type TaxonAnswer,
} from '../../classify/index.ts';
import type { LocalModel } from '../local-model.ts';
import type { OutputRow, PredictionsOutput } from '../output/predictions-output.ts';
import type { Reporter } from '../progress.ts';
import { speciesEmbeddingsFor } from '../species/species-cache.ts';
import { readSpeciesList } from '../species/species-list.ts';
import { loadSpeciesIndex, type LoadedSpecies } from '../species/species-source.ts';
import { subsetOf, type TaxonName } from '../species/subset.ts';

export interface TreeOfLifeRequest {
  readonly files: readonly string[];
  readonly rank: RankName;
  readonly k: number;
  readonly threshold: number;
  readonly subset: readonly TaxonName[];
  /** Official-format folder; when absent the candidate list is embedded with the model (and cached). */
  readonly speciesEmbeddings?: string;
  readonly speciesList: string;
  readonly cacheDir: string;
}

// Images classified per call: bounds the per-image softmax state held at once.
const IMAGES_PER_CLASSIFY = 64;

/** Where the candidate species come from, and the index built from them. */
async function candidates(model: LocalModel, request: TreeOfLifeRequest, reporter: Reporter): Promise<{ loaded: LoadedSpecies; source: Record<string, unknown> }> {
  const dim = model.embeddingDim;
  if (request.speciesEmbeddings !== undefined) {
    const dir = path.resolve(request.speciesEmbeddings);
    const loaded = await loadSpeciesIndex(dir, { dim, reporter });
    const madeBy = loaded.madeBy?.textEncoderSha256;
    if (madeBy !== undefined && madeBy !== model.textEncoderSha256) {
      reporter.note(`warning: the species embeddings in ${dir} were made by another text encoder than this model's`);
    }
    return { loaded, source: { kind: 'embeddings', dir, species: loaded.index.size } };
  }
  const list = await readSpeciesList(request.speciesList);
  const cached = await speciesEmbeddingsFor(model, list, { cacheDir: request.cacheDir, reporter });
  if (cached.fromCache) reporter.note(`candidate species embeddings read from the cache ${cached.dir}`);
  const loaded = await loadSpeciesIndex(cached.dir, { dim, reporter });
  return { loaded, source: { kind: 'list', list: path.resolve(list.file), listSha256: list.sha256, species: loaded.index.size, cache: cached.dir } };
}

/** pybioclip's TreeOfLifeClassifier predictions for image files, as output rows. */
export async function predictTreeOfLife(model: LocalModel, request: TreeOfLifeRequest, reporter: Reporter): Promise<Omit<PredictionsOutput, 'model'>> {
  const { loaded, source } = await candidates(model, request, reporter);
  if (loaded.skippedColumns > 0) reporter.note(`${loaded.skippedColumns} labelled species have all-zero embeddings and are left out`);
  const subset: Subset | undefined = request.subset.length > 0 ? subsetOf(loaded.index, request.subset) : undefined;
  const scorer = chooseScorer(loaded.index);
  try {
    const classifier = new TreeOfLifeClassifier(loaded.index, { logitScale: model.logitScale, scorer });
    return await classifyFiles(model, classifier, request, subset, reporter, source);
  } finally {
    await scorer.close?.();
  }
}

async function classifyFiles(
  model: LocalModel,
  classifier: TreeOfLifeClassifier,
  request: TreeOfLifeRequest,
  subset: Subset | undefined,
  reporter: Reporter,
  source: Record<string, unknown>,
): Promise<Omit<PredictionsOutput, 'model'>> {
  const embeddings = await model.embedImageFiles(request.files, reporter);
  const rows: OutputRow[] = [];
  const answers: { file_name: string; answer: TaxonAnswer | null }[] = [];
  const uncertified = new Set<string>();
  for (let i = 0; i < embeddings.length; i += IMAGES_PER_CLASSIFY) {
    const results = await classifier.classify(embeddings.slice(i, i + IMAGES_PER_CLASSIFY), {
      rank: request.rank,
      k: request.k,
      subset,
      threshold: request.threshold,
    });
    results.forEach((result, j) => {
      const file_name = request.files[i + j];
      for (const row of result.predictions[request.rank] ?? []) rows.push({ file_name, ...row });
      answers.push({ file_name, answer: result.answer });
      for (const [rank, ok] of Object.entries(result.exactness.certified)) if (!ok) uncertified.add(rank);
    });
  }
  if (uncertified.size > 0) {
    reporter.note(`note: near-ties at ${[...uncertified].join(', ')}: the order of nearly equal scores there is within the computation's error bound`);
  }
  return {
    columns: ['file_name', ...rowColumns(rankIndex(request.rank)), 'score'],
    rows,
    answers,
    run: {
      kind: 'tree-of-life',
      rank: request.rank,
      k: request.k,
      threshold: request.threshold,
      candidates: { ...source, ...(subset ? { subset: request.subset } : {}) },
      preprocessing: model.mode,
    },
  };
}
