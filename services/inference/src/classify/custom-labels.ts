import { ClassifyError } from './errors.ts';
import { MAX_LOGIT_SCALE } from './tree-classifier.ts';
import { unitFloat64 } from './vectors.ts';

export interface LabelEmbedding {
  readonly label: string;
  /** A class embedding from embedClassTexts (unit length) or any other direction; it is normalised here. */
  readonly embedding: ArrayLike<number>;
}

/** pybioclip's custom-label row. */
export interface LabelPrediction {
  readonly classification: string;
  readonly score: number;
}

/**
 * pybioclip's CustomLabelsClassifier: softmax of logitScale × cosine over arbitrary labels (open vocabulary),
 * computed entirely in float64 (label sets are small). Labels are trimmed like pybioclip's `cls.strip()`.
 */
export class CustomLabelsClassifier {
  readonly labels: readonly string[];
  protected readonly dim: number;
  private readonly vectors: Float64Array[];

  constructor(
    labels: readonly LabelEmbedding[],
    protected readonly options: { readonly logitScale: number; readonly dim?: number },
  ) {
    if (labels.length === 0) throw new ClassifyError('EMPTY_CANDIDATES', 'no labels to classify against');
    if (!(options.logitScale > 0 && options.logitScale <= MAX_LOGIT_SCALE)) {
      throw new ClassifyError('INVALID_OPTION', `logitScale must be in (0, ${MAX_LOGIT_SCALE}], got ${options.logitScale}`);
    }
    this.dim = options.dim ?? 768;
    this.labels = labels.map((l) => l.label.trim());
    this.vectors = labels.map((l, i) => unitFloat64(l.embedding, this.dim, `label ${i} (${l.label})`));
  }

  /** Probabilities of every label per image, in label order. */
  probabilities(imageEmbeddings: readonly ArrayLike<number>[]): Float64Array[] {
    return imageEmbeddings.map((e, i) => {
      const x = unitFloat64(e, this.dim, `image ${i}`);
      const logits = this.vectors.map((v) => {
        let s = 0;
        for (let k = 0; k < this.dim; k++) s += v[k] * x[k];
        return this.options.logitScale * s;
      });
      const max = Math.max(...logits);
      let z = 0;
      const w = logits.map((l) => {
        const v = Math.exp(l - max);
        z += v;
        return v;
      });
      return Float64Array.from(w, (v) => v / z);
    });
  }

  /** Top-k labels per image (all labels when k is omitted or larger), best first; ties keep label order. */
  classify(imageEmbeddings: readonly ArrayLike<number>[], k?: number): LabelPrediction[][] {
    checkK(k);
    return this.probabilities(imageEmbeddings).map((p) => topK(this.labels, Array.from(p), k));
  }
}

/**
 * pybioclip's CustomLabelsBinningClassifier: labels mapped to bins, a bin's probability is the sum over its labels
 * (a float64 sum of the float64 label probabilities).
 */
export class CustomLabelsBinningClassifier extends CustomLabelsClassifier {
  readonly bins: readonly string[];
  private readonly binOf: Int32Array;

  constructor(labels: readonly (LabelEmbedding & { readonly bin: string })[], options: { readonly logitScale: number; readonly dim?: number }) {
    super(labels, options);
    const bins: string[] = [];
    const binIndex = new Map<string, number>();
    this.binOf = Int32Array.from(labels, (l, i) => {
      if (typeof l.bin !== 'string' || l.bin.length === 0) {
        throw new ClassifyError('INVALID_OPTION', `label ${i} (${l.label}): empty or missing bin (not allowed, as in pybioclip)`);
      }
      let b = binIndex.get(l.bin);
      if (b === undefined) {
        b = bins.length;
        bins.push(l.bin);
        binIndex.set(l.bin, b);
      }
      return b;
    });
    this.bins = bins;
  }

  /** Top-k bins per image (all bins by default), best first; ties keep the order bins first appear in. */
  override classify(imageEmbeddings: readonly ArrayLike<number>[], k?: number): LabelPrediction[][] {
    checkK(k);
    return this.probabilities(imageEmbeddings).map((p) => {
      const sums = new Array<number>(this.bins.length).fill(0);
      p.forEach((v, i) => (sums[this.binOf[i]] += v));
      return topK(this.bins, sums, k);
    });
  }
}

function checkK(k: number | undefined): void {
  if (k !== undefined && (!Number.isInteger(k) || k < 1)) throw new ClassifyError('INVALID_OPTION', `k must be a positive integer, got ${k}`);
}

function topK(names: readonly string[], scores: number[], k: number | undefined): LabelPrediction[] {
  const order = scores.map((_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
  return order.slice(0, k ?? order.length).map((i) => ({ classification: names[i], score: scores[i] }));
}
