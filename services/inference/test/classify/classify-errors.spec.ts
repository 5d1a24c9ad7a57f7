import { beforeAll, describe, expect, it } from 'vitest';
import { ClassifyError } from '../../src/classify/errors.ts';
import { SpeciesIndex } from '../../src/classify/species-index.ts';
import { TreeOfLifeClassifier } from '../../src/classify/tree-classifier.ts';
import { readOfficial, readQueries } from './classify-fixtures.ts';

let classifier: TreeOfLifeClassifier;
let index: SpeciesIndex;
let queries: Float32Array[];
beforeAll(async () => {
  index = SpeciesIndex.fromRecords((await readOfficial('tol-v1')).records);
  classifier = new TreeOfLifeClassifier(index, { logitScale: 100 });
  queries = await readQueries();
});

async function code(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    return e instanceof ClassifyError ? e.code : String(e);
  }
  return 'no error';
}

describe('bad input gets a typed error', () => {
  it('image embeddings of the wrong size, with NaN, or all zero', async () => {
    expect(await code(classifier.classify([new Float32Array(512)]))).toBe('DIMENSION_MISMATCH');
    expect(await code(classifier.classify([queries[0], new Float32Array(769)]))).toBe('DIMENSION_MISMATCH');
    const nan = queries[0].slice();
    nan[100] = Number.NaN;
    expect(await code(classifier.classify([nan]))).toBe('NON_FINITE');
    const inf = queries[0].slice();
    inf[3] = Number.POSITIVE_INFINITY;
    expect(await code(classifier.classify([inf]))).toBe('NON_FINITE');
    expect(await code(classifier.classify([new Float32Array(768)]))).toBe('ZERO_VECTOR');
  });

  it('unknown ranks, taxa and empty candidate sets', async () => {
    expect(await code(classifier.classify(queries, { rank: 'subspecies' as 'species' }))).toBe('UNKNOWN_RANK');
    expect(await code(classifier.classify(queries, { rank: [] }))).toBe('UNKNOWN_RANK');
    expect(await code(classifier.classify(queries, { subset: { rank: 'family', names: ['Hominidae'] } }))).toBe('UNKNOWN_TAXON');
    expect(await code(classifier.classify(queries, { subset: { rank: 'family', names: [] } }))).toBe('EMPTY_CANDIDATES');
    expect(await code(classifier.classify(queries, { subset: { speciesIds: [50] } }))).toBe('UNKNOWN_TAXON');
    expect(await code(() => SpeciesIndex.fromRecords([]))).toBe('EMPTY_CANDIDATES');
  });

  it('options out of range', async () => {
    for (const options of [{ k: 0 }, { k: 2.5 }, { threshold: 0 }, { threshold: 1.5 }, { minProb: -1 }, { minProb: 1 }]) {
      expect(await code(classifier.classify(queries, options)), JSON.stringify(options)).toBe('INVALID_OPTION');
    }
    expect(await code(() => new TreeOfLifeClassifier(index, { logitScale: Number.NaN }))).toBe('INVALID_OPTION');
    expect(await code(() => new TreeOfLifeClassifier(index, { logitScale: 1000 }))).toBe('INVALID_OPTION');
    expect(await code(() => new TreeOfLifeClassifier(index, { logitScale: 100, tolerance: 0 }))).toBe('INVALID_OPTION');
    expect(await code(() => new TreeOfLifeClassifier(index, { logitScale: 100, maxRescored: 0 }))).toBe('INVALID_OPTION');
  });

  it('an empty batch is an empty answer', async () => {
    expect(await classifier.classify([])).toEqual([]);
  });
});
