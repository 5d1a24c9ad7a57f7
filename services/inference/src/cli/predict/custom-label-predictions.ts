import { CustomLabelsBinningClassifier, CustomLabelsClassifier, embedClassTexts, OPENAI_IMAGENET_TEMPLATES } from '../../classify/index.ts';
import type { LocalModel } from '../local-model.ts';
import type { OutputRow, PredictionsOutput } from '../output/predictions-output.ts';
import type { Reporter } from '../progress.ts';
import type { BinnedClass } from '../species/custom-labels-input.ts';

export interface CustomLabelsRequest {
  readonly files: readonly string[];
  readonly k: number;
  /** Plain classes (--cls) or classes with bins (--bins). */
  readonly labels: readonly string[] | readonly BinnedClass[];
}

/**
 * pybioclip's custom-label predictions: each class put into the 80 templates and averaged (as pybioclip does), then
 * softmax of logit_scale × cosine over the classes; with bins, a bin's score is the sum of its classes.
 */
export async function predictCustomLabels(model: LocalModel, request: CustomLabelsRequest, reporter: Reporter): Promise<Omit<PredictionsOutput, 'model'>> {
  const binned = typeof request.labels[0] === 'object';
  const names = request.labels.map((l) => (typeof l === 'string' ? l : l.label));
  const progress = reporter.task(`embedding ${names.length} classes × ${OPENAI_IMAGENET_TEMPLATES.length} templates`, names.length, 'classes');
  const vectors = await embedClassTexts(names, (texts) => model.embedTexts(texts), { dim: model.embeddingDim, onProgress: (done) => progress.update(done) });
  progress.finish();
  const options = { logitScale: model.logitScale, dim: model.embeddingDim };
  const classifier = binned
    ? new CustomLabelsBinningClassifier((request.labels as readonly BinnedClass[]).map((l, i) => ({ ...l, embedding: vectors[i] })), options)
    : new CustomLabelsClassifier(names.map((label, i) => ({ label, embedding: vectors[i] })), options);

  const embeddings = await model.embedImageFiles(request.files, reporter);
  const rows: OutputRow[] = [];
  classifier.classify(embeddings, request.k).forEach((predictions, i) => {
    for (const p of predictions) rows.push({ file_name: request.files[i], classification: p.classification, score: p.score });
  });
  return {
    columns: ['file_name', 'classification', 'score'],
    rows,
    run: { kind: binned ? 'custom-bins' : 'custom-labels', k: request.k, classes: names.length, ...(binned ? { bins: (classifier as CustomLabelsBinningClassifier).bins.length } : {}), preprocessing: model.mode },
  };
}
