import { beforeAll, describe, expect, it } from 'vitest';
import { CustomLabelsBinningClassifier, CustomLabelsClassifier } from '../../src/classify/custom-labels.ts';
import { ClassifyError } from '../../src/classify/errors.ts';
import type { OfficialSpeciesEmbedding } from '../../src/classify/official/official-species-embeddings.ts';
import { expectClose, readOfficial, readQueries, reference } from './classify-fixtures.ts';

let records: OfficialSpeciesEmbedding[];
let queries: Float32Array[];
beforeAll(async () => {
  ({ records } = await readOfficial('tol-v1'));
  queries = await readQueries();
});

const labelInputs = () => reference.customLabels.labels.map((l) => ({ label: l.label, bin: l.bin, embedding: records[l.species].embedding }));

describe('custom labels (pybioclip CustomLabelsClassifier)', () => {
  it('matches the Python float64 softmax over the labels, best first', () => {
    const classifier = new CustomLabelsClassifier(labelInputs(), { logitScale: reference.logitScale });
    expect(classifier.labels).toContain('sage');
    const results = classifier.classify(queries);
    results.forEach((rows, q) => {
      const expected = reference.customLabels.results[q].labels;
      expect(rows).toHaveLength(expected.length);
      const order = expected.map((_, i) => i).sort((a, b) => expected[b] - expected[a] || a - b);
      expect(rows.map((r) => r.classification)).toEqual(order.map((i) => classifier.labels[i]));
      rows.forEach((r, i) => expectClose(r.score, expected[order[i]], 1e-9));
    });
    expect(classifier.classify(queries, 2)[0]).toHaveLength(2);
  });

  it('sums labels into bins (pybioclip CustomLabelsBinningClassifier)', () => {
    const classifier = new CustomLabelsBinningClassifier(labelInputs(), { logitScale: reference.logitScale });
    expect(classifier.bins).toEqual(['corvid', 'seabird', 'plant']);
    classifier.classify(queries).forEach((rows, q) => {
      const expected = reference.customLabels.results[q].bins;
      expect(rows.map((r) => r.classification)).toEqual(Object.keys(expected).sort((a, b) => expected[b] - expected[a]));
      for (const r of rows) expectClose(r.score, expected[r.classification], 1e-9);
    });
  });

  it('refuses bad input with typed errors', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e instanceof ClassifyError ? e.code : String(e);
      }
      return 'no error';
    };
    const scale = { logitScale: reference.logitScale };
    expect(code(() => new CustomLabelsClassifier([], scale))).toBe('EMPTY_CANDIDATES');
    expect(code(() => new CustomLabelsClassifier(labelInputs(), { logitScale: 0 }))).toBe('INVALID_OPTION');
    expect(code(() => new CustomLabelsBinningClassifier([{ ...labelInputs()[0], bin: '' }], scale))).toBe('INVALID_OPTION');
    expect(code(() => new CustomLabelsClassifier([{ label: 'x', embedding: new Float32Array(767) }], scale))).toBe('DIMENSION_MISMATCH');
    const classifier = new CustomLabelsClassifier(labelInputs(), scale);
    expect(code(() => classifier.classify([new Float32Array(768)]))).toBe('ZERO_VECTOR');
    expect(code(() => classifier.classify([queries[0].map((v, i) => (i === 9 ? Number.NaN : v))]))).toBe('NON_FINITE');
    expect(code(() => classifier.classify(queries, 0))).toBe('INVALID_OPTION');
  });
});
