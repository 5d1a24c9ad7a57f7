export { ClassifyError, type ClassifyErrorCode } from './errors.ts';
export { RANKS, rankIndex, binomial, type RankName, type Lineage } from './ranks.ts';
export {
  SpeciesIndex,
  SpeciesIndexBuilder,
  DEFAULT_EMBEDDING_DIM,
  type SpeciesRecord,
  type SpeciesColumns,
  type SpeciesIndexOptions,
} from './species-index.ts';
export { resolveCandidates, type Subset, type CandidateSet } from './candidates.ts';
export {
  TreeOfLifeClassifier,
  DEFAULT_K,
  DEFAULT_THRESHOLD,
  DEFAULT_TOLERANCE,
  DEFAULT_MAX_RESCORED,
  type TreeOfLifeClassifierOptions,
  type ClassifyOptions,
  type ClassifyResult,
  type TaxonAnswer,
  type Exactness,
} from './tree-classifier.ts';
export { rowColumns, type PredictionRow } from './rows.ts';
export { CustomLabelsClassifier, CustomLabelsBinningClassifier, type LabelEmbedding, type LabelPrediction } from './custom-labels.ts';
export {
  OPENAI_IMAGENET_TEMPLATES,
  taxonLabel,
  fillTemplate,
  embedClassTexts,
  embedTaxa,
  type TextEncoderFn,
  type ClassEmbeddingOptions,
} from './zero-shot-labels.ts';
export type { SpeciesScorer, ScoredChunk, ScorerErrorBound } from './scorers/scorer.ts';
export { JsSpeciesScorer } from './scorers/js-scorer.ts';
export { OrtSpeciesScorer, screeningModel, type OrtSpeciesScorerOptions } from './scorers/ort-scorer.ts';
export { NativeSpeciesScorer, type NativeSpeciesScorerOptions } from './scorers/native-scorer.ts';
export { chooseScorer, FLOAT32_SCREENING_FROM_SPECIES } from './scorers/choose-scorer.ts';
export {
  OfficialSpeciesEmbeddings,
  DEFAULT_BLOCK_COLUMNS,
  type OfficialSpeciesEmbedding,
  type OfficialFilesLayout,
  type OfficialStreamOptions,
} from './official/official-species-embeddings.ts';
export { NpyColumnReader } from './official/npy-column-reader.ts';
export { parseNpyHeader, parseNpyPreamble, type NpyHeader } from './official/npy-header.ts';
export { streamSpeciesLabels, countSpeciesLabels, parseSpeciesLabel, type SpeciesLabel, type LabelStreamOptions } from './official/species-label-reader.ts';
