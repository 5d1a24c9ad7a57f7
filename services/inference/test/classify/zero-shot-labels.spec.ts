import { describe, expect, it } from 'vitest';
import { ClassifyError } from '../../src/classify/errors.ts';
import { embedClassTexts, embedTaxa, OPENAI_IMAGENET_TEMPLATES, taxonLabel } from '../../src/classify/zero-shot-labels.ts';
import { reference } from './classify-fixtures.ts';

/** The deterministic stand-in encoder of make_classify_fixtures.py (integer arithmetic, exact in both languages). */
function fakeTextEncoder(text: string): Float32Array {
  let s = 0;
  Array.from(text).forEach((ch, i) => (s = (s + (i + 1) * ch.codePointAt(0)!) % 1000003));
  return Float32Array.from({ length: 768 }, (_, k) => ((s * 31 + (k + 1) * 17 + (s % (k + 7))) % 1009) / 1009 - 0.5);
}
const encode = async (texts: readonly string[]) => texts.map(fakeTextEncoder);

describe('zero-shot class texts', () => {
  it('has the 80 OpenAI ImageNet templates in pybioclip order', () => {
    expect(OPENAI_IMAGENET_TEMPLATES).toHaveLength(80);
    expect(new Set(OPENAI_IMAGENET_TEMPLATES).size).toBe(80);
    expect(OPENAI_IMAGENET_TEMPLATES.every((t) => t.split('{}').length === 2)).toBe(true);
    expect(OPENAI_IMAGENET_TEMPLATES.slice(0, 3)).toEqual(reference.zeroShot.templatesFirstThree);
    expect(OPENAI_IMAGENET_TEMPLATES[39]).toBe('a photo of a {}.');
    expect(OPENAI_IMAGENET_TEMPLATES[79]).toBe('a tattoo of the {}.');
  });

  it('builds make_txt_embedding.py labels: seven names, then the common name when known', () => {
    for (const c of reference.zeroShot.classes) expect(taxonLabel(c.lineage, c.commonName)).toBe(c.label);
    expect(taxonLabel(['Animalia', 'Chordata', 'Aves', 'Passeriformes', 'Corvidae', 'Corvus', 'corax'], 'Common raven')).toBe(
      'Animalia Chordata Aves Passeriformes Corvidae Corvus corax with common name Common raven',
    );
    // Empty ranks are joined as they are (two spaces), like ' '.join(name[0]).
    expect(taxonLabel(['Animalia', 'Chordata', '', 'Cypriniformes', 'Cyprinidae', 'Carassius', 'auratus'], '')).toBe(
      'Animalia Chordata  Cypriniformes Cyprinidae Carassius auratus',
    );
  });

  it('averages normalised template embeddings and renormalises, like the Python reference', async () => {
    const templates = reference.zeroShot.templatesFirstThree;
    const got = await embedTaxa(reference.zeroShot.classes, encode, { templates, classesPerCall: 3 });
    got.forEach((v, i) => {
      const want = reference.zeroShot.classes[i].embedding;
      let maxDiff = 0;
      for (let k = 0; k < 768; k++) maxDiff = Math.max(maxDiff, Math.abs(v[k] - want[k]));
      // float64 math stored as float32: within one float32 rounding of the float64 reference.
      expect(maxDiff).toBeLessThan(6e-8);
      expect(Math.abs(Math.hypot(...v) - 1)).toBeLessThan(1e-6);
    });
    let calls = 0;
    await embedClassTexts(['a', 'b', 'c'], async (t) => {
      calls++;
      expect(t).toHaveLength(80 * (calls < 2 ? 2 : 1));
      return t.map(fakeTextEncoder);
    }, { classesPerCall: 2 });
    expect(calls).toBe(2);
  });

  it('refuses encoders that return the wrong shape', async () => {
    const code = async (p: Promise<unknown>) => p.then(() => 'no error', (e) => (e instanceof ClassifyError ? e.code : String(e)));
    expect(await code(embedClassTexts(['x'], async (t) => t.slice(1).map(fakeTextEncoder)))).toBe('DIMENSION_MISMATCH');
    expect(await code(embedClassTexts(['x'], async (t) => t.map(() => new Float32Array(512))))).toBe('DIMENSION_MISMATCH');
    expect(await code(embedClassTexts(['x'], async (t) => t.map(() => new Float32Array(768))))).toBe('ZERO_VECTOR');
    expect(await code(embedClassTexts(['x'], encode, { templates: ['no placeholder'] }))).toBe('INVALID_OPTION');
  });
});
