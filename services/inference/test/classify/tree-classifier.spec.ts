import { beforeAll, describe, expect, it } from 'vitest';
import { RANKS } from '../../src/classify/ranks.ts';
import { rowColumns } from '../../src/classify/rows.ts';
import { JsSpeciesScorer } from '../../src/classify/scorers/js-scorer.ts';
import { OrtSpeciesScorer } from '../../src/classify/scorers/ort-scorer.ts';
import type { SpeciesScorer } from '../../src/classify/scorers/scorer.ts';
import { SpeciesIndex } from '../../src/classify/species-index.ts';
import { TreeOfLifeClassifier, type ClassifyResult } from '../../src/classify/tree-classifier.ts';
import type { OfficialSpeciesEmbedding } from '../../src/classify/official/official-species-embeddings.ts';
import { expectClose, float64Tree, readOfficial, readQueries, reference, rowLineage } from './classify-fixtures.ts';

const RELATIVE = 1e-9;
let records: OfficialSpeciesEmbedding[];
let queries: Float32Array[];
let index: SpeciesIndex;

beforeAll(async () => {
  ({ records } = await readOfficial('tol-v1'));
  queries = await readQueries();
  index = SpeciesIndex.fromRecords(records);
});

const scorers: [string, () => SpeciesScorer][] = [
  ['TypeScript float64 scorer', () => new JsSpeciesScorer({ chunkRows: 7 })],
  ['ONNX Runtime float32 scorer + float64 rescoring', () => new OrtSpeciesScorer({ chunkRows: 16 })],
];

describe.each(scorers)('tree-of-life classification with the %s', (_, makeScorer) => {
  let classifier: TreeOfLifeClassifier;
  beforeAll(() => {
    // Tolerances far below 1e-9 make the engine rescore everything a reported score depends on, whatever the scorer.
    classifier = new TreeOfLifeClassifier(index, {
      logitScale: reference.logitScale,
      scorer: makeScorer(),
      tolerance: 1e-13,
      relativeTolerance: 1e-11,
      resolveTopK: true,
    });
  });

  for (const scenario of reference.scenarios) {
    it(`matches the Python float64 reference: ${scenario.name}`, async () => {
      const opts = { rank: 'all' as const, k: 8, subset: scenario.subset ?? undefined, minProb: scenario.minProb };
      const at50 = await classifier.classify(queries, { ...opts, threshold: 0.5 });
      const at90 = await classifier.classify(queries, { ...opts, threshold: 0.9 });
      scenario.results.forEach((expected, q) => {
        RANKS.forEach((rank, r) => {
          const rows = at50[q].predictions[rank]!;
          const want = expected.top[rank];
          expect(rows.length, `${rank} rows`).toBe(Math.min(8, expected.groupCount[rank]));
          expect(rows.map((row) => rowLineage(row, r)), `${rank} order`).toEqual(want.map((w) => w.lineage));
          rows.forEach((row, i) => expectClose(row.score, want[i].score, RELATIVE));
        });
        for (const [result, answer] of [[at50[q], expected.answer50], [at90[q], expected.answer90]] as const) {
          if (answer === null) {
            expect(result.answer).toBeNull();
          } else {
            expect(result.answer?.rank).toBe(answer.rank);
            expect(result.answer?.lineage).toEqual(answer.lineage);
            expectClose(result.answer!.score, answer.score, RELATIVE);
          }
        }
        expect(Object.values(at50[q].exactness.certified).every(Boolean)).toBe(true);
        expect(Object.values(at50[q].exactness.topKCertified).every(Boolean)).toBe(true);
        expect(at50[q].exactness.errorBound).toBeLessThanOrEqual(1e-12);
      });
    });
  }

  it('gives the same answers to concurrent calls as to one call at a time (each call has its own scratch arrays)', async () => {
    const opts = { rank: 'all' as const, k: 5 };
    const alone = [await classifier.classify(queries, opts), await classifier.classify(queries.slice(0, 2), opts)];
    const together = await Promise.all([classifier.classify(queries, opts), classifier.classify(queries.slice(0, 2), opts)]);
    expect(together).toEqual(alone);
    // And after them, a call that reuses the kept arrays.
    expect(await classifier.classify(queries, opts)).toEqual(alone[0]);
  });

  it('agrees with an independent float64 softmax on every group at every rank', async () => {
    const results = await classifier.classify(queries, { rank: 'all', k: 1000, threshold: null });
    results.forEach((result, q) => {
      const tree = float64Tree(records, queries[q], reference.logitScale, records.map((_, i) => i));
      RANKS.forEach((rank, r) => {
        const rows = result.predictions[rank]!;
        expect(rows.length).toBe(tree.ranks[r].size);
        for (const row of rows) {
          const lineage = rowLineage(row, r);
          const key = r === 6 ? records.findIndex((s) => s.lineage.join('\u0000') === lineage.join('\u0000')) : -1;
          const expected = r === 6 ? tree.species[key] : tree.ranks[r].get(lineage.join('\u0000'))!;
          expectClose(row.score, expected, RELATIVE);
        }
        const total = rows.reduce((s, row) => s + row.score, 0);
        expect(Math.abs(total - 1)).toBeLessThan(1e-12);
      });
    });
  });
});

describe('result shape', () => {
  let results: ClassifyResult[];
  beforeAll(async () => {
    const classifier = new TreeOfLifeClassifier(index, { logitScale: reference.logitScale });
    results = await classifier.classify(queries.slice(0, 3), { rank: 'all', k: 5 });
  });

  it("uses pybioclip's columns, truncated to the rank", () => {
    for (const [r, rank] of RANKS.entries()) {
      for (const row of results[0].predictions[rank]!) expect(Object.keys(row)).toEqual([...rowColumns(r), 'score']);
    }
    expect(rowColumns(6)).toEqual(['kingdom', 'phylum', 'class', 'order', 'family', 'genus', 'species_epithet', 'species', 'common_name']);
    expect(rowColumns(3)).toEqual(['kingdom', 'phylum', 'class', 'order']);
    const raven = results[0].predictions.species![0];
    expect(raven).toMatchObject({ genus: 'Corvus', species_epithet: 'corax', species: 'Corvus corax', common_name: 'Common raven' });
  });

  it('returns the species rank only, by default', async () => {
    const classifier = new TreeOfLifeClassifier(index, { logitScale: reference.logitScale });
    const [r] = await classifier.classify([queries[0]]);
    expect(Object.keys(r.predictions)).toEqual(['species']);
    expect(r.predictions.species).toHaveLength(5);
  });

  it('keeps homonyms apart: genus Morus of the gannets and of the mulberries are two taxa', () => {
    const genera = results[2].predictions.genus!.filter((row) => row.genus === 'Morus');
    expect(genera.map((g) => g.kingdom)).toEqual(['Animalia', 'Plantae']);
    const tree = float64Tree(records, queries[2], reference.logitScale, records.map((_, i) => i));
    const sumOf = (kingdom: string) =>
      records.reduce((s, rec, i) => (rec.lineage[0] === kingdom && rec.lineage[5] === 'Morus' ? s + tree.species[i] : s), 0);
    expectClose(genera[0].score, sumOf('Animalia'), RELATIVE);
    expectClose(genera[1].score, sumOf('Plantae'), RELATIVE);
    // Name-only grouping would have merged them into one row holding both masses.
    expect(genera[0].score + genera[1].score).toBeGreaterThan(0.999);
  });

  it('answers with the deepest rank above the threshold when the species is uncertain', () => {
    // Query 1 sits between raven and crow: species < 0.9, genus Corvus ≈ 1.
    expect(results[1].answer?.rank).toBe('species');
    expect(results[1].predictions.species![0].score).toBeLessThan(0.9);
    expect(results[1].predictions.genus![0]).toMatchObject({ genus: 'Corvus' });
  });
});
