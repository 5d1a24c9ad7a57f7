import { beforeAll, describe, expect, it } from 'vitest';
import { RANKS } from '../../src/classify/ranks.ts';
import { NativeSpeciesScorer } from '../../src/classify/scorers/native-scorer.ts';
import { OrtSpeciesScorer } from '../../src/classify/scorers/ort-scorer.ts';
import { SpeciesIndex } from '../../src/classify/species-index.ts';
import { TreeOfLifeClassifier, type ClassifyResult } from '../../src/classify/tree-classifier.ts';
import { float64Tree, rng, rowLineage } from './classify-fixtures.ts';

/**
 * A larger synthetic tree (≈12 K species) screened in float32 by ONNX Runtime, checked against a direct float64
 * softmax. Includes "twin" genera whose species are identical up to a 5e-7 perturbation of one coordinate, so their masses differ by
 * far less than the float32 screening error: only the float64 resolution step can order them.
 */
const DIM = 768;
const LOGIT_SCALE = 100;

function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let k = 0; k < v.length; k++) s += v[k] * v[k];
  return Math.sqrt(s);
}

interface Species {
  lineage: string[];
  embedding: Float32Array;
}

function buildTree(): { species: Species[]; twins: [number, number][] } {
  const random = rng(7);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const direction = () => {
    const v = Float64Array.from({ length: DIM }, gauss);
    const n = norm(v);
    return v.map((x) => x / n);
  };
  const species: Species[] = [];
  const twins: [number, number][] = [];
  const add = (lineage: string[], parts: Float64Array[], weights: number[]) => {
    const v = new Float64Array(DIM);
    for (let i = 0; i < parts.length; i++) for (let k = 0; k < DIM; k++) v[k] += weights[i] * parts[i][k];
    const n = norm(v);
    species.push({ lineage, embedding: Float32Array.from(v, (x) => x / n) });
  };
  const weights = [0.8, 0.6, 0.6, 0.6, 0.7, 0.8, 0.5, 0.45];
  for (let k = 0; k < 4; k++) {
    const dk = direction();
    for (let c = 0; c < 6; c++) {
      const dc = direction();
      for (let f = 0; f < 25; f++) {
        const df = direction();
        for (let g = 0; g < 10; g++) {
          const dg = direction();
          const lineageOf = (e: number) => [`K${k}`, `P${k}`, `C${k}.${c}`, `O${k}.${c}`, `F${k}.${c}.${f}`, `G${g}`, `e${e}`];
          const count = 3 + Math.floor(random() * 5);
          for (let e = 0; e < count; e++) add(lineageOf(e), [dk, dk, dc, dc, df, dg, direction(), direction()], weights);
        }
      }
    }
  }
  // Twin genera in two families of different kingdoms: same species directions, one coordinate nudged by 5e-7.
  const base = species.length;
  const dirs = Array.from({ length: 4 }, direction);
  for (const [twin, kingdom] of [[0, 'K0'], [1, 'K3']] as const) {
    const start = species.length;
    dirs.forEach((d, e) => {
      const v = Float32Array.from(d);
      if (twin === 1 && e === 0) v[0] = Math.fround(v[0] * (1 + 5e-7));
      species.push({ lineage: [kingdom, `P${kingdom.slice(1)}`, 'Ctwin', 'Otwin', `Ftwin${twin}`, 'Twinus', `e${e}`], embedding: v });
    });
    if (twin === 1) twins.push([base, start]);
  }
  return { species, twins };
}

let species: Species[];
let index: SpeciesIndex;
let queries: Float32Array[];

beforeAll(() => {
  const tree = buildTree();
  species = tree.species;
  index = SpeciesIndex.fromRecords(species.map((s) => ({ ...s, commonName: '' })), { renormalize: true });
  // Renormalised rows are what the index scores against; the float64 reference must use the same vectors.
  for (let p = 0; p < index.size; p++) species[index.sourceIds[p]].embedding = index.vectors.slice(p * DIM, (p + 1) * DIM);
  const random = rng(99);
  const pick = (i: number) => species[i].embedding;
  const twinQuery = Float32Array.from(pick(tree.twins[0][0]), (x, k) => 40 * (x + 0.25 * pick(tree.twins[0][0] + 1)[k]));
  const nearQuery = Float32Array.from(pick(1234), (x) => 45 * x + 3 * (random() - 0.5));
  const flatQuery = Float32Array.from({ length: DIM }, () => random() - 0.5);
  const betweenQuery = Float32Array.from(pick(10), (x, k) => 30 * (x + pick(11)[k] + pick(20)[k]) + 2 * (random() - 0.5));
  queries = [twinQuery, nearQuery, flatQuery, betweenQuery];
});

function checkAgainstFloat64(results: ClassifyResult[], k: number): void {
  results.forEach((result, q) => {
    const tree = float64Tree(species, queries[q], LOGIT_SCALE, species.map((_, i) => i));
    RANKS.forEach((rank, r) => {
      const rows = result.predictions[rank]!;
      const entries = r === 6 ? [...tree.species.entries()].map(([i, p]) => [`${species[i].lineage.join('\u0000')}`, p] as const) : [...tree.ranks[r].entries()];
      const byKey = new Map(entries);
      const best = [...entries].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, k);
      for (const [i, row] of rows.entries()) {
        const key = rowLineage(row, r).join('\u0000');
        const exact = byKey.get(key)!;
        expect(Math.abs(row.score - exact), `${rank} ${key}`).toBeLessThanOrEqual(result.exactness.errorBound + 1e-12 * exact);
        if (result.exactness.topKCertified[rank] || (i === 0 && result.exactness.certified[rank])) {
          expect(key, `${rank} position ${i}, query ${q}`).toBe(best[i][0]);
        }
      }
      if (result.exactness.topKCertified[rank]) expect(rows.length).toBe(best.length);
    });
  });
}

describe('exactness on a larger tree screened in float32', () => {
  it('gives the float64 top-1 at every rank by default, resolving near-ties in float64', async () => {
    const classifier = new TreeOfLifeClassifier(index, { logitScale: LOGIT_SCALE, scorer: new OrtSpeciesScorer({ chunkRows: 4096 }) });
    const results = await classifier.classify(queries, { rank: 'all', k: 5 });
    checkAgainstFloat64(results, 5);
    for (const r of results) expect(Object.values(r.exactness.certified).every(Boolean)).toBe(true);
    // The twin genera: identical but for one nudged coordinate, in different kingdoms (their float64 order is checked above).
    const genera = results[0].predictions.genus!;
    expect(genera.slice(0, 2).map((g) => `${g.kingdom}/${g.genus}`).sort()).toEqual(['K0/Twinus', 'K3/Twinus']);
    expect(genera[0].score - genera[1].score).toBeGreaterThan(0);
    expect(genera[0].score - genera[1].score).toBeLessThan(1e-6 * genera[0].score);
    // Settling that took rescoring beyond the top species.
    expect(results[0].exactness.rescored).toBeGreaterThan(0);
  });

  it.skipIf(NativeSpeciesScorer.unavailable() !== undefined)('gives the same float64 answers with the native known-order scorer, rescoring less', async () => {
    const ort = await new TreeOfLifeClassifier(index, { logitScale: LOGIT_SCALE, scorer: new OrtSpeciesScorer({ chunkRows: 4096 }) }).classify(queries, { rank: 'all', k: 5 });
    const native = await new TreeOfLifeClassifier(index, { logitScale: LOGIT_SCALE, scorer: new NativeSpeciesScorer({ chunkRows: 4096 }) }).classify(queries, { rank: 'all', k: 5 });
    checkAgainstFloat64(native, 5);
    for (const r of native) expect(Object.values(r.exactness.certified).every(Boolean)).toBe(true);
    // Its bound is ≈ 13× tighter, so the same tolerance needs no more float64 work than with ONNX Runtime.
    const total = (results: ClassifyResult[]) => results.reduce((sum, r) => sum + r.exactness.rescored, 0);
    expect(total(native)).toBeLessThanOrEqual(total(ort));
  });

  it('gives the whole float64 top-k order when asked to resolve it', async () => {
    const classifier = new TreeOfLifeClassifier(index, {
      logitScale: LOGIT_SCALE,
      scorer: new OrtSpeciesScorer({ chunkRows: 4096 }),
      resolveTopK: true,
      maxRescored: 65_536,
    });
    const results = await classifier.classify(queries, { rank: 'all', k: 5 });
    checkAgainstFloat64(results, 5);
    for (const r of results) expect(Object.values(r.exactness.topKCertified).every(Boolean)).toBe(true);
  });

  it('stays within its stated error bound, and only claims orders it has checked, on a tight budget', async () => {
    const classifier = new TreeOfLifeClassifier(index, {
      logitScale: LOGIT_SCALE,
      scorer: new OrtSpeciesScorer({ chunkRows: 4096 }),
      maxRescored: 4,
      tolerance: 1e-9,
      resolveTopK: true,
    });
    const results = await classifier.classify(queries, { rank: 'all', k: 5 });
    checkAgainstFloat64(results, 5);
    // The flat query spreads its mass over thousands of species: 4 rescored ones cannot reach 1e-9 (and the band
    // collected for them outgrows the budget, so collection compacts it on the way).
    expect(results[2].exactness.errorBound).toBeGreaterThan(1e-9);
    // Orders it could not settle within 4 species (a species top-5 needs 6) are reported as not certified rather
    // than guessed.
    expect(results.some((r) => Object.values(r.exactness.topKCertified).includes(false))).toBe(true);
  });

  it('with pybioclip min_prob sums only the species above it, exactly', async () => {
    // Every species above 1e-9 must be rescored; the flat query has thousands, hence the budget.
    const classifier = new TreeOfLifeClassifier(index, { logitScale: LOGIT_SCALE, scorer: new OrtSpeciesScorer({ chunkRows: 4096 }), maxRescored: 65_536 });
    const results = await classifier.classify(queries, { rank: 'all', k: 5, minProb: 1e-9 });
    results.forEach((result, q) => {
      const tree = float64Tree(species, queries[q], LOGIT_SCALE, species.map((_, i) => i), 1e-9);
      for (const [r, rank] of RANKS.entries()) {
        if (r === 6) continue;
        for (const row of result.predictions[rank]!) {
          const exact = tree.ranks[r].get(rowLineage(row, r).join('\u0000'))!;
          expect(Math.abs(row.score - exact) / exact).toBeLessThan(1e-9);
        }
        expect(result.predictions[rank]!.length).toBe(Math.min(5, tree.ranks[r].size));
      }
      expect(Object.values(result.exactness.topKCertified).every(Boolean)).toBe(true);
    });
    // On the default budget the flat query cannot rescore all of them: it says so, and stays within its bound.
    const capped = await new TreeOfLifeClassifier(index, { logitScale: LOGIT_SCALE, scorer: new OrtSpeciesScorer({ chunkRows: 4096 }) }).classify(
      [queries[2]],
      { rank: 'family', k: 3, minProb: 1e-9 },
    );
    const tree = float64Tree(species, queries[2], LOGIT_SCALE, species.map((_, i) => i), 1e-9);
    if (!capped[0].exactness.topKCertified.family) {
      for (const row of capped[0].predictions.family!) {
        const exact = tree.ranks[4].get(rowLineage(row, 4).join('\u0000')) ?? 0;
        expect(Math.abs(row.score - exact)).toBeLessThanOrEqual(capped[0].exactness.errorBound);
      }
    }
  });
});
