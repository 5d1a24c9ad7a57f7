import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { OfficialSpeciesEmbeddings } from '../../src/classify/official/official-species-embeddings.ts';
import { BEAR, CAT, csvRecords, expectCleanFailure, OCELOT, runArbor, SPAWNING_TEST_TIMEOUT_MS, SPECIES_EMBEDDINGS, SPECIES_LIST, withTempDir } from './run-arbor.ts';

const RANKS = ['kingdom', 'phylum', 'class', 'order', 'family', 'genus', 'species'] as const;
type Rank = (typeof RANKS)[number];

// pybioclip's columns per rank, written out rather than derived from the code under test.
const COLUMNS: Record<Rank, string[]> = {
  kingdom: ['file_name', 'kingdom', 'score'],
  phylum: ['file_name', 'kingdom', 'phylum', 'score'],
  class: ['file_name', 'kingdom', 'phylum', 'class', 'score'],
  order: ['file_name', 'kingdom', 'phylum', 'class', 'order', 'score'],
  family: ['file_name', 'kingdom', 'phylum', 'class', 'order', 'family', 'score'],
  genus: ['file_name', 'kingdom', 'phylum', 'class', 'order', 'family', 'genus', 'score'],
  species: ['file_name', 'kingdom', 'phylum', 'class', 'order', 'family', 'genus', 'species_epithet', 'species', 'common_name', 'score'],
};
// Taxa per rank in fixtures/candidate-species.csv (the genus Morus of birds and of plants are two taxa).
const TAXA: Record<Rank, number> = { kingdom: 3, phylum: 3, class: 4, order: 7, family: 7, genus: 7, species: 12 };
const FILES = [CAT, OCELOT];
const TREE = ['--species-embeddings', SPECIES_EMBEDDINGS];

type Row = Record<string, string | number>;
interface PredictJson {
  model: { name: string; isStandIn: boolean; notice?: string };
  notice?: string;
  rank?: Rank;
  k: number;
  columns: string[];
  predictions: Row[];
  answers?: { file_name: string; answer: { rank: Rank; name: string; score: number; lineage: string[] } | null }[];
}

async function predictJson(args: string[]): Promise<PredictJson> {
  const run = await runArbor(['predict', '--format', 'json', '-q', ...args]);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.text) as PredictJson;
}

/** Runs the jobs at most two at a time (two cores; each job is a whole CLI process with its model). */
async function twoAtATime<T>(jobs: (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(
    [0, 1].map(async () => {
      while (next < jobs.length) {
        const i = next++;
        out[i] = await jobs[i]();
      }
    }),
  );
  return out;
}

const rowsOf = (json: PredictJson, file: string) => json.predictions.filter((r) => r.file_name === file);
const sum = (rows: Row[]) => rows.reduce((s, r) => s + Number(r.score), 0);
const prefix = (row: Row, depth: number) => RANKS.slice(0, depth + 1).map((r) => (r === 'species' ? row.species_epithet : row[r]));

// Every rank with k = 100 (all taxa): shared by the rollup, subset and threshold checks.
const full = {} as Record<Rank, PredictJson>;
beforeAll(async () => {
  const results = await twoAtATime(RANKS.map((rank) => () => predictJson([...TREE, '--rank', rank, '-k', '100', ...FILES])));
  RANKS.forEach((rank, i) => (full[rank] = results[i]));
}, SPAWNING_TEST_TIMEOUT_MS);

describe('arbor predict (tree of life)', { timeout: SPAWNING_TEST_TIMEOUT_MS }, () => {
  it('at every rank: all taxa, scores sorted, summing to 1, each the sum of its species (rollup)', () => {
    for (const rank of RANKS) {
      const json = full[rank];
      expect(json.model.isStandIn).toBe(true);
      expect(json.notice).toMatch(/STAND-IN model arbor-standin@1 .*NOT identifications/);
      expect(json.columns).toEqual(COLUMNS[rank]);
      for (const file of FILES) {
        const rows = rowsOf(json, file);
        expect(rows, `${rank} ${file}`).toHaveLength(TAXA[rank]);
        const scores = rows.map((r) => Number(r.score));
        expect(scores).toEqual([...scores].sort((a, b) => b - a));
        expect(sum(rows)).toBeLessThanOrEqual(1 + 1e-12);
        expect(sum(rows)).toBeCloseTo(1, 12);
        const species = rowsOf(full.species, file);
        const depth = RANKS.indexOf(rank);
        for (const row of rows) {
          const key = JSON.stringify(prefix(row, depth));
          const members = species.filter((s) => JSON.stringify(prefix(s, depth)) === key);
          expect(members.length, `${rank} ${key}`).toBeGreaterThan(0);
          expect(Number(row.score), `${rank} ${key}`).toBeCloseTo(sum(members), 12);
        }
      }
    }
    // Homonyms stay apart: two genera named Morus, in different kingdoms.
    expect(rowsOf(full.genus, CAT).filter((r) => r.genus === 'Morus').map((r) => r.kingdom).sort()).toEqual(['Animalia', 'Plantae']);
  });

  it('CSV: pybioclip header and min(k, taxa) rows per image at every rank, equal to the top of the full list', async () => {
    const runs = await twoAtATime(RANKS.map((rank) => () => runArbor(['predict', ...TREE, '--rank', rank, '-q', ...FILES])));
    RANKS.forEach((rank, i) => {
      const run = runs[i];
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toMatch(/STAND-IN/);
      const { header, rows } = csvRecords(run.text);
      expect(header).toEqual(COLUMNS[rank]);
      for (const file of FILES) {
        const got = rows.filter((r) => r.file_name === file);
        expect(got, `${rank} ${file}`).toHaveLength(Math.min(5, TAXA[rank]));
        // Same taxa in the same order; the scores agree to rounding (how much is rescored in float64 depends on k).
        const top = rowsOf(full[rank], file).slice(0, got.length);
        expect(got.map(({ score, ...names }) => names)).toEqual(top.map(({ score, ...names }) => Object.fromEntries(Object.entries(names).map(([c, v]) => [c, String(v)]))));
        got.forEach((row, j) => expect(Number(row.score)).toBeCloseTo(Number(top[j].score), 12));
      }
    });
  });

  it('-k limits the rows per image; species rows carry epithet, binomial and common name', async () => {
    const json = await predictJson([...TREE, '-k', '2', CAT]);
    expect(json.predictions).toHaveLength(2);
    for (const row of json.predictions) {
      expect(row.species).toBe(`${row.genus} ${row.species_epithet}`);
      expect(typeof row.common_name).toBe('string');
    }
  });

  it('--subset-taxon / --subset-file: only species under the taxa, probabilities renormalised over them', async () => {
    const birds = await predictJson([...TREE, '-k', '100', '--subset-taxon', 'Aves', CAT]);
    expect(birds.predictions).toHaveLength(5);
    expect(new Set(birds.predictions.map((r) => r.class))).toEqual(new Set(['Aves']));
    expect(sum(birds.predictions)).toBeCloseTo(1, 12);
    // Softmax over a subset = the full softmax restricted to it and renormalised.
    const fullAves = rowsOf(full.species, CAT).filter((r) => r.class === 'Aves');
    for (const row of birds.predictions) {
      const same = fullAves.find((r) => r.species === row.species)!;
      expect(Number(row.score)).toBeCloseTo(Number(same.score) / sum(fullAves), 10);
    }

    await withTempDir(async (dir) => {
      // pybioclip's subset CSV: first column named after the rank. Both genera called Morus are kept.
      const genusCsv = path.join(dir, 'genus.csv');
      await writeFile(genusCsv, 'genus\nMorus\n');
      const morus = await predictJson([...TREE, '-k', '100', '--subset-file', genusCsv, CAT]);
      expect(morus.predictions.map((r) => r.species).sort()).toEqual(['Morus alba', 'Morus bassanus']);

      // A plain list mixing ranks (a species and a genus), at the genus rank.
      const mixed = path.join(dir, 'mixed.txt');
      await writeFile(mixed, 'Amanita muscaria\nQuercus\n');
      const genera = await predictJson([...TREE, '-k', '100', '--rank', 'genus', '--subset', mixed, CAT]);
      expect(genera.predictions.map((r) => r.genus).sort()).toEqual(['Amanita', 'Quercus']);
      expect(sum(genera.predictions)).toBeCloseTo(1, 12);
    });

    const unknown = await runArbor(['predict', ...TREE, '--subset-taxon', 'Felis', CAT]);
    expectCleanFailure(unknown);
    expect(unknown.stderr).toMatch(/no candidate species under 'Felis'/);
  });

  it('--threshold: the deepest taxon whose score reaches it (JSON answers)', async () => {
    const threshold = 0.3;
    const json = await predictJson([...TREE, '--threshold', String(threshold), ...FILES]);
    expect(json.answers?.map((a) => a.file_name)).toEqual(FILES);
    for (const { file_name, answer } of json.answers ?? []) {
      const best = (rank: Rank) => Number(rowsOf(full[rank], file_name)[0].score);
      const deepest = [...RANKS].reverse().find((rank) => best(rank) >= threshold);
      expect(answer?.rank).toBe(deepest);
      expect(answer?.score).toBeCloseTo(best(deepest!), 12);
    }
  });

  it('--format table: the stand-in notice, a bordered table, and the threshold answers', async () => {
    const run = await runArbor(['predict', ...TREE, '--format', 'table', '--rank', 'class', '-q', CAT]);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.text.split('\n');
    expect(lines[0]).toMatch(/^NOTE: STAND-IN model arbor-standin@1/);
    expect(run.text).toMatch(/^\| file_name +\| kingdom +\| phylum +\| class +\| score +\|$/m);
    const answersAt = lines.findIndex((l) => l.startsWith('Deepest taxon with probability ≥ 0.5'));
    expect(answersAt).toBeGreaterThan(0);
    expect(lines.slice(0, answersAt).filter((l) => l.startsWith('| ') && l.includes(CAT))).toHaveLength(4);
    expect(lines.slice(answersAt).filter((l) => l.startsWith('| ') && l.includes(CAT))).toHaveLength(1);
  });
});

describe('arbor predict --species-list (candidates embedded with the model, cached)', { timeout: SPAWNING_TEST_TIMEOUT_MS }, () => {
  it('embeds the list with 80 templates once, caches it in the official layout, then reads the cache', async () => {
    await withTempDir(async (dir) => {
      const list = path.join(dir, 'three.csv');
      await writeFile(list, (await readFile(SPECIES_LIST, 'utf8')).split('\n').slice(0, 4).join('\n'));
      const cacheDir = path.join(dir, 'cache');
      const args = ['predict', '--species-list', list, '--cache-dir', cacheDir, '-k', '3', CAT];

      const first = await runArbor(args);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stderr).toMatch(/embedding 3 candidate species × 80 templates/);
      const [entry] = await readdir(path.join(cacheDir, 'species-text-embeddings'));
      const cached = path.join(cacheDir, 'species-text-embeddings', entry);
      expect((await readdir(cached)).sort()).toEqual(['meta.json', 'txt_emb_species.json', 'txt_emb_species.npy']);

      // The same vectors as the committed fixture's first three species (made the same way; see fixtures/README.md).
      const read = async (d: string) => {
        const reader = await OfficialSpeciesEmbeddings.open(path.join(d, 'txt_emb_species.npy'), path.join(d, 'txt_emb_species.json'));
        const out = [];
        for await (const s of reader.stream()) out.push(s);
        await reader.close();
        return out;
      };
      const [mine, fixture] = [await read(cached), (await read(SPECIES_EMBEDDINGS)).slice(0, 3)];
      expect(mine.map((s) => [s.lineage, s.commonName])).toEqual(fixture.map((s) => [s.lineage, s.commonName]));
      mine.forEach((s, i) => {
        const worst = Math.max(...Array.from(s.embedding, (v, k) => Math.abs(v - fixture[i].embedding[k])));
        expect(worst).toBeLessThan(1e-5);
      });

      const second = await runArbor(args);
      expect(second.code, second.stderr).toBe(0);
      expect(second.stderr).toMatch(/read from the cache/);
      expect(second.stderr).not.toMatch(/templates/);
      expect(second.text).toBe(first.text);
      expect(csvRecords(second.text).rows).toHaveLength(3);
    });
  });

  it('refuses a list without the lineage columns', async () => {
    await withTempDir(async (dir) => {
      const list = path.join(dir, 'bad.csv');
      await writeFile(list, 'genus,species\nUrsus,arctos\n');
      const run = await runArbor(['predict', '--species-list', list, CAT]);
      expectCleanFailure(run);
      expect(run.stderr).toMatch(/lacks the column\(s\) kingdom, phylum, class, order, family, species_epithet/);
    });
  });
});

describe('arbor predict --cls / --bins (custom labels)', { timeout: SPAWNING_TEST_TIMEOUT_MS }, () => {
  it('--cls: file_name, classification, score; min(k, classes) rows per image summing to 1', async () => {
    const run = await runArbor(['predict', '--cls', 'cat,dog,bird', '-q', ...FILES]);
    expect(run.code, run.stderr).toBe(0);
    const { header, rows } = csvRecords(run.text);
    expect(header).toEqual(['file_name', 'classification', 'score']);
    for (const file of FILES) {
      const got = rows.filter((r) => r.file_name === file);
      expect(got.map((r) => r.classification).sort()).toEqual(['bird', 'cat', 'dog']);
      expect(got.reduce((s, r) => s + Number(r.score), 0)).toBeCloseTo(1, 12);
    }
    // pybioclip also takes --cls as a file of classes, one per line.
    await withTempDir(async (dir) => {
      const classes = path.join(dir, 'classes.txt');
      await writeFile(classes, 'cat\ndog\n\nbird\n');
      const top1 = await predictJson(['--cls', classes, '-k', '1', CAT]);
      expect(top1.columns).toEqual(['file_name', 'classification', 'score']);
      const [best] = rows.filter((r) => r.file_name === CAT);
      expect(top1.predictions).toEqual([{ ...best, score: Number(best.score) }]);
    });
  });

  it('--bins: a bin scores the sum of its classes (as --cls scores them)', async () => {
    await withTempDir(async (dir) => {
      const bins = path.join(dir, 'bins.csv');
      await writeFile(bins, 'cls,bin\ncat,animal\ndog,animal\nbird,animal\noak tree,plant\n');
      const binned = await predictJson(['--bins', bins, ...FILES]);
      const labels = await predictJson(['--cls', 'cat,dog,bird,oak tree', ...FILES]);
      for (const file of FILES) {
        const byLabel = Object.fromEntries(rowsOf(labels, file).map((r) => [r.classification, Number(r.score)]));
        const byBin = Object.fromEntries(rowsOf(binned, file).map((r) => [r.classification, Number(r.score)]));
        expect(Object.keys(byBin).sort()).toEqual(['animal', 'plant']);
        expect(byBin.animal).toBeCloseTo(byLabel.cat + byLabel.dog + byLabel.bird, 12);
        expect(byBin.plant).toBeCloseTo(byLabel['oak tree'], 12);
      }
    });
  });
});

describe('arbor predict errors', { timeout: SPAWNING_TEST_TIMEOUT_MS }, () => {
  it('a bad image fails with exit 1 naming the file; a missing one before the model loads', async () => {
    await withTempDir(async (dir) => {
      const fake = path.join(dir, 'fake.jpg');
      await writeFile(fake, 'this is not a JPEG');
      const bad = await runArbor(['predict', ...TREE, BEAR, fake]);
      expectCleanFailure(bad);
      expect(bad.code).toBe(1);
      expect(bad.stdout.length).toBe(0);
      expect(bad.stderr).toContain(`[IMAGE_UNREADABLE]: image '${fake}'`);
    });
    const missing = await runArbor(['predict', ...TREE, 'missing.jpg']);
    expectCleanFailure(missing);
    expect(missing.stderr).toContain("[FILE_NOT_FOUND]: image 'missing.jpg' does not exist");
    expect(missing.stderr).not.toMatch(/STAND-IN/); // refused before loading the model
    const noEmbeddings = await runArbor(['predict', '--species-embeddings', '/nonexistent', CAT]);
    expectCleanFailure(noEmbeddings);
    expect(noEmbeddings.stderr).toContain('/nonexistent/txt_emb_species.npy');
  });

  it('contradictory or malformed options are usage errors (exit 2)', async () => {
    const cases: [string[], RegExp][] = [
      [['--cls', 'a,b', '--rank', 'genus'], /--rank applies to tree-of-life predictions/],
      [['--cls', 'a,b', '--bins', 'x.csv'], /--cls and --bins cannot be used together/],
      [['--rank', 'tribe'], /--rank must be one of kingdom, phylum/],
      [['-k', '0'], /--k must be a positive integer/],
      [['--threshold', '1.5'], /--threshold must be a number in \(0, 1\]/],
      [['--format', 'xml'], /--format must be one of csv, table, json/],
      [[], /no image given/],
    ];
    const runs = await twoAtATime(cases.map(([args]) => () => runArbor(['predict', ...args, ...(args.length ? [CAT] : [])])));
    runs.forEach((run, i) => {
      expect(run.code, cases[i][0].join(' ')).toBe(2);
      expect(run.stderr).toMatch(cases[i][1]);
    });
  });
});
