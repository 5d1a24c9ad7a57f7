import { ClassifyError } from './errors.ts';
import type { Lineage } from './ranks.ts';

/**
 * The 80 prompt templates of OpenAI's CLIP ImageNet zero-shot evaluation, in the order pybioclip
 * (`OPENA_AI_IMAGENET_TEMPLATE`) and the TreeOfLife toolbox use them. `{}` is the class text.
 */
export const OPENAI_IMAGENET_TEMPLATES: readonly string[] = [
  'a bad photo of a {}.', 'a photo of many {}.', 'a sculpture of a {}.', 'a photo of the hard to see {}.',
  'a low resolution photo of the {}.', 'a rendering of a {}.', 'graffiti of a {}.', 'a bad photo of the {}.',
  'a cropped photo of the {}.', 'a tattoo of a {}.', 'the embroidered {}.', 'a photo of a hard to see {}.',
  'a bright photo of a {}.', 'a photo of a clean {}.', 'a photo of a dirty {}.', 'a dark photo of the {}.',
  'a drawing of a {}.', 'a photo of my {}.', 'the plastic {}.', 'a photo of the cool {}.',
  'a close-up photo of a {}.', 'a black and white photo of the {}.', 'a painting of the {}.', 'a painting of a {}.',
  'a pixelated photo of the {}.', 'a sculpture of the {}.', 'a bright photo of the {}.', 'a cropped photo of a {}.',
  'a plastic {}.', 'a photo of the dirty {}.', 'a jpeg corrupted photo of a {}.', 'a blurry photo of the {}.',
  'a photo of the {}.', 'a good photo of the {}.', 'a rendering of the {}.', 'a {} in a video game.',
  'a photo of one {}.', 'a doodle of a {}.', 'a close-up photo of the {}.', 'a photo of a {}.',
  'the origami {}.', 'the {} in a video game.', 'a sketch of a {}.', 'a doodle of the {}.',
  'a origami {}.', 'a low resolution photo of a {}.', 'the toy {}.', 'a rendition of the {}.',
  'a photo of the clean {}.', 'a photo of a large {}.', 'a rendition of a {}.', 'a photo of a nice {}.',
  'a photo of a weird {}.', 'a blurry photo of a {}.', 'a cartoon {}.', 'art of a {}.',
  'a sketch of the {}.', 'a embroidered {}.', 'a pixelated photo of a {}.', 'itap of the {}.',
  'a jpeg corrupted photo of the {}.', 'a good photo of a {}.', 'a plushie {}.', 'a photo of the nice {}.',
  'a photo of the small {}.', 'a photo of the weird {}.', 'the cartoon {}.', 'art of the {}.',
  'a drawing of the {}.', 'a photo of the large {}.', 'a black and white photo of a {}.', 'the plushie {}.',
  'a dark photo of a {}.', 'itap of a {}.', 'graffiti of the {}.', 'a toy {}.',
  'itap of my {}.', 'a photo of a cool {}.', 'a photo of a small {}.', 'a tattoo of the {}.',
];

/**
 * The class text of a species in make_txt_embedding.py: the seven lineage entries joined by single spaces (empty
 * ranks included, as the script does), plus " with common name X" when a common name is known.
 */
export function taxonLabel(lineage: Lineage, commonName: string | null | undefined): string {
  const names = lineage.join(' ');
  return commonName ? `${names} with common name ${commonName}` : names;
}

export function fillTemplate(template: string, classText: string): string {
  return template.replace('{}', classText);
}

/** A model's text encoder: one embedding (any norm) per text, in order. */
export type TextEncoderFn = (texts: readonly string[]) => Promise<readonly ArrayLike<number>[]>;

export interface ClassEmbeddingOptions {
  readonly dim?: number;
  readonly templates?: readonly string[];
  /** Classes per encoder call (each call carries classesPerCall × templates texts). */
  readonly classesPerCall?: number;
  readonly onProgress?: (classesDone: number, total: number) => void;
}

/**
 * Zero-shot class embeddings the way pybioclip and make_txt_embedding.py make them: every template filled with the
 * class text, each text embedding L2-normalised, the mean taken, and the mean renormalised. Float64 arithmetic,
 * stored as float32 (torch does the same steps in float32; the two agree to ≈1e-7).
 */
export async function embedClassTexts(classTexts: readonly string[], encode: TextEncoderFn, options: ClassEmbeddingOptions = {}): Promise<Float32Array[]> {
  const dim = options.dim ?? 768;
  const templates = options.templates ?? OPENAI_IMAGENET_TEMPLATES;
  if (templates.length === 0 || templates.some((t) => !t.includes('{}'))) {
    throw new ClassifyError('INVALID_OPTION', 'every template needs a {} placeholder');
  }
  const perCall = Math.max(1, options.classesPerCall ?? 4);
  const out: Float32Array[] = [];
  for (let c0 = 0; c0 < classTexts.length; c0 += perCall) {
    const classes = classTexts.slice(c0, c0 + perCall);
    const texts = classes.flatMap((c) => templates.map((t) => fillTemplate(t, c)));
    const embeddings = await encode(texts);
    if (embeddings.length !== texts.length) {
      throw new ClassifyError('DIMENSION_MISMATCH', `the text encoder returned ${embeddings.length} embeddings for ${texts.length} texts`);
    }
    classes.forEach((cls, j) => {
      const mean = new Float64Array(dim);
      for (let t = 0; t < templates.length; t++) {
        const e = embeddings[j * templates.length + t];
        if (e.length !== dim) throw new ClassifyError('DIMENSION_MISMATCH', `embedding of "${texts[j * templates.length + t]}" has ${e.length} values, expected ${dim}`);
        let s = 0;
        for (let k = 0; k < dim; k++) {
          if (!Number.isFinite(e[k])) throw new ClassifyError('NON_FINITE', `embedding of "${cls}" holds ${e[k]}`);
          s += e[k] * e[k];
        }
        const norm = Math.sqrt(s);
        if (norm === 0) throw new ClassifyError('ZERO_VECTOR', `the text encoder returned a zero embedding for "${cls}"`);
        for (let k = 0; k < dim; k++) mean[k] += e[k] / norm;
      }
      let s = 0;
      for (let k = 0; k < dim; k++) {
        mean[k] /= templates.length;
        s += mean[k] * mean[k];
      }
      const norm = Math.sqrt(s);
      if (norm === 0) throw new ClassifyError('ZERO_VECTOR', `the template embeddings of "${cls}" cancel out`);
      out.push(Float32Array.from(mean, (v) => v / norm));
    });
    options.onProgress?.(Math.min(c0 + perCall, classTexts.length), classTexts.length);
  }
  return out;
}

/** Text embeddings for taxa, ready for a SpeciesIndex (unit float32, one per taxon, same order). */
export function embedTaxa(
  taxa: readonly { readonly lineage: Lineage; readonly commonName?: string | null }[],
  encode: TextEncoderFn,
  options: ClassEmbeddingOptions = {},
): Promise<Float32Array[]> {
  return embedClassTexts(taxa.map((t) => taxonLabel(t.lineage, t.commonName)), encode, options);
}
