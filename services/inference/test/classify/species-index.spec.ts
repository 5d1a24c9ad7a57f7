import { describe, expect, it } from 'vitest';
import { resolveCandidates } from '../../src/classify/candidates.ts';
import { ClassifyError } from '../../src/classify/errors.ts';
import { SpeciesIndex, SpeciesIndexBuilder } from '../../src/classify/species-index.ts';

const DIM = 8;
function unitVector(seed: number): Float32Array {
  const v = Float32Array.from({ length: DIM }, (_, k) => Math.sin(seed * 12.9898 + k * 78.233));
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}
const species = [
  ['Plantae', 'Tracheophyta', 'Magnoliopsida', 'Rosales', 'Moraceae', 'Morus', 'alba'],
  ['Animalia', 'Chordata', 'Aves', 'Suliformes', 'Sulidae', 'Morus', 'bassanus'],
  ['Animalia', 'Chordata', 'Aves', 'Passeriformes', 'Corvidae', 'Corvus', 'corax'],
  ['Plantae', 'Tracheophyta', 'Magnoliopsida', 'Rosales', 'Moraceae', 'Morus', 'nigra'],
  ['Animalia', 'Chordata', 'Aves', 'Suliformes', 'Sulidae', 'Morus', 'serrator'],
  ['Animalia', 'Chordata', '', 'Cypriniformes', 'Cyprinidae', 'Carassius', 'auratus'],
];
const build = () =>
  SpeciesIndex.fromRecords(
    species.map((lineage, i) => ({ lineage, commonName: `common ${i}`, embedding: unitVector(i + 1) })),
    { dim: DIM },
  );

describe('SpeciesIndex', () => {
  it('stores species in lineage order with every taxon a contiguous range', () => {
    const index = build();
    expect(index.size).toBe(6);
    const lineages = Array.from({ length: index.size }, (_, p) => index.lineageAt(p).join('/'));
    expect(lineages).toEqual([...lineages].sort());
    // Rows moved with their species: row p is the input vector sourceIds[p].
    for (let p = 0; p < index.size; p++) {
      expect(Array.from(index.vectors.subarray(p * DIM, (p + 1) * DIM))).toEqual(Array.from(unitVector(index.sourceIds[p] + 1)));
      expect(index.commonNames[p]).toBe(`common ${index.sourceIds[p]}`);
      expect(index.positionOf(index.sourceIds[p])).toBe(p);
    }
    for (let rank = 0; rank < 6; rank++) {
      for (let g = 0; g < index.groupCount(rank); g++) {
        const [s, e] = index.groupRange(rank, g);
        for (let p = s; p < e; p++) expect(index.groupOf(rank, p)).toBe(g);
      }
    }
  });

  it('keys taxa by the whole lineage prefix, so homonyms stay apart', () => {
    const index = build();
    const morus = index.groupsNamed(5, 'Morus');
    expect(morus).toHaveLength(2);
    expect(morus.map((g) => index.groupLineage(5, g)[0]).sort()).toEqual(['Animalia', 'Plantae']);
    const gannets = index.groupByLineage(['Animalia', 'Chordata', 'Aves', 'Suliformes', 'Sulidae', 'Morus'])!;
    expect(index.groupRange(5, gannets)[1] - index.groupRange(5, gannets)[0]).toBe(2);
    expect(index.groupByLineage(['Plantae', 'Chordata'])).toBeUndefined();
    // A missing rank is a taxon named '' under its parent, not a gap that merges branches.
    expect(index.groupByLineage(['Animalia', 'Chordata', ''])).toBeDefined();
  });

  it('resolves subsets to candidate ranges', () => {
    const index = build();
    expect(resolveCandidates(index, { rank: 'genus', names: ['Morus'] }).count).toBe(4);
    expect(resolveCandidates(index, { lineages: [['Animalia', 'Chordata', 'Aves', 'Suliformes']] }).count).toBe(2);
    expect(resolveCandidates(index, { lineages: [['Animalia', 'Chordata', 'Aves', 'Suliformes', 'Sulidae', 'Morus', 'serrator']] }).count).toBe(1);
    expect(resolveCandidates(index, { rank: 'species', names: ['Morus alba', 'Corvus corax'] }).count).toBe(2);
    expect(resolveCandidates(index, { speciesIds: [0, 0, 3] }).count).toBe(2);
    const both = resolveCandidates(index, { lineages: [['Animalia'], ['Animalia', 'Chordata', 'Aves']] });
    expect(both.count).toBe(4);
  });

  it('refuses bad subsets with typed errors', () => {
    const index = build();
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e instanceof ClassifyError ? e.code : String(e);
      }
      return 'no error';
    };
    expect(code(() => resolveCandidates(index, { rank: 'genus', names: ['Quercus'] }))).toBe('UNKNOWN_TAXON');
    expect(code(() => resolveCandidates(index, { lineages: [['Fungi']] }))).toBe('UNKNOWN_TAXON');
    expect(code(() => resolveCandidates(index, { speciesIds: [6] }))).toBe('UNKNOWN_TAXON');
    expect(code(() => resolveCandidates(index, { speciesIds: [] }))).toBe('EMPTY_CANDIDATES');
    expect(code(() => resolveCandidates(index, { rank: 'tribe' as 'genus', names: ['x'] }))).toBe('UNKNOWN_RANK');
  });

  it('validates embeddings and lineages', () => {
    const ok = { lineage: species[0], commonName: '', embedding: unitVector(1) };
    const code = (records: unknown[], options = {}) => {
      try {
        SpeciesIndex.fromRecords(records as never, { dim: DIM, ...options });
      } catch (e) {
        return e instanceof ClassifyError ? e.code : String(e);
      }
      return 'no error';
    };
    expect(code([])).toBe('EMPTY_CANDIDATES');
    expect(code([{ ...ok, embedding: new Float32Array(DIM + 1) }])).toBe('DIMENSION_MISMATCH');
    expect(code([{ ...ok, embedding: unitVector(1).fill(Number.NaN, 2, 3) }])).toBe('NON_FINITE');
    expect(code([{ ...ok, embedding: new Float32Array(DIM) }])).toBe('ZERO_VECTOR');
    expect(code([{ ...ok, embedding: unitVector(1).map((x) => 2 * x) }])).toBe('NOT_UNIT');
    expect(code([{ ...ok, lineage: species[0].slice(1) }])).toBe('INVALID_LINEAGE');
    expect(code([{ ...ok, embedding: unitVector(1).map((x) => 2 * x) }], { renormalize: true })).toBe('no error');
  });

  it('grows while records stream in', () => {
    const builder = new SpeciesIndexBuilder({ dim: DIM, capacity: 1 });
    species.forEach((lineage, i) => builder.add({ lineage, commonName: '', embedding: unitVector(i + 1) }));
    expect(builder.build().size).toBe(6);
  });
});
