import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { InferenceMetrics } from '../../src/metrics.ts';
import { ModelHost, type LoadedModel } from '../../src/models/model-host.ts';
import { loadModelPackage } from '../../src/models/model-package.ts';
import { BEAR, CAT, expectCleanFailure, OCELOT, readArrayBuffer, REPO_ROOT, runArbor, SPAWNING_TEST_TIMEOUT_MS, withTempDir } from './run-arbor.ts';

// The library path the service uses: ModelHost over the committed stand-in, one host per preprocessing mode.
const hosts: ModelHost[] = [];
async function libraryModel(mode?: 'open_clip' | 'pybioclip'): Promise<LoadedModel> {
  const host = new ModelHost({
    config: { ...loadConfig({}), preprocessWorkers: 1, logLevel: 'silent' },
    logger: createLogger('silent'),
    metrics: new InferenceMetrics({ processMetrics: false }),
    loadPackage: async (dir) => {
      const pkg = await loadModelPackage(dir);
      return mode ? { ...pkg, manifest: { ...pkg.manifest, preprocessing: { ...pkg.manifest.preprocessing, mode } } } : pkg;
    },
  });
  hosts.push(host);
  return host.load();
}

let library: LoadedModel;
let libraryPybioclip: LoadedModel;
beforeAll(async () => {
  library = await libraryModel();
  libraryPybioclip = await libraryModel('pybioclip');
});
afterAll(async () => {
  await Promise.all(hosts.map((h) => h.close()));
});

function expectSameVectors(actual: ArrayLike<number>[], expected: ArrayLike<number>[], tolerance = 1e-6): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((vector, i) => {
    expect(vector.length).toBe(expected[i].length);
    let worst = 0;
    for (let k = 0; k < vector.length; k++) worst = Math.max(worst, Math.abs(vector[k] - expected[i][k]));
    expect(worst, `vector ${i}`).toBeLessThan(tolerance);
  });
}

const norm = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0));

describe('arbor embed', { timeout: SPAWNING_TEST_TIMEOUT_MS }, () => {
  const files = [CAT, OCELOT, CAT];

  it('writes L2-normalised embeddings with file names, flags the stand-in, and equals the library (JSON)', async () => {
    const run = await runArbor(['embed', ...files]);
    expect(run.code, run.stderr).toBe(0);
    const json = JSON.parse(run.text) as { model: Record<string, unknown>; preprocessing: string; normalization: string; dim: number; embeddings: { file: string; embedding: number[] }[] };
    expect(json.model).toMatchObject({ name: 'arbor-standin', version: '1', isStandIn: true });
    expect(json.model.notice).toMatch(/NOT BioCLIP 2/);
    expect(run.stderr).toMatch(/STAND-IN model arbor-standin@1/);
    expect(json).toMatchObject({ preprocessing: 'open_clip', normalization: 'l2', dim: 768 });
    expect(json.embeddings.map((e) => e.file)).toEqual(files);
    for (const e of json.embeddings) expect(norm(e.embedding)).toBeCloseTo(1, 5);
    expect(json.embeddings[2].embedding).toEqual(json.embeddings[0].embedding);

    const expected = await library.images.embed(await Promise.all(files.map((f) => readFile(f))));
    expectSameVectors(json.embeddings.map((e) => e.embedding), expected);
  });

  it('writes Parquet (file, model, embedding list<float>) that reads back with hyparquet as the same float32 values', async () => {
    await withTempDir(async (dir) => {
      const out = path.join(dir, 'embeddings.parquet');
      const parquet = await runArbor(['embed', '--format', 'parquet', '--output', out, CAT, BEAR, '--quiet']);
      expect(parquet.code, parquet.stderr).toBe(0);
      expect(parquet.stdout.length).toBe(0);
      expect(parquet.stderr).toMatch(/STAND-IN/); // --quiet drops progress, never the notice
      expect(parquet.stderr).not.toMatch(/embedding images/);

      const buffer = await readArrayBuffer(out);
      const rows = (await parquetReadObjects({ file: buffer })) as { file: string; model: string; embedding: number[] }[];
      expect(rows.map((r) => Object.keys(r))).toEqual([
        ['file', 'model', 'embedding'],
        ['file', 'model', 'embedding'],
      ]);
      expect(rows.map((r) => r.file)).toEqual([CAT, BEAR]);
      expect(rows.map((r) => r.model)).toEqual(['arbor-standin@1', 'arbor-standin@1']);
      const metadata = parquetMetadata(buffer).key_value_metadata ?? [];
      const model = JSON.parse(metadata.find((kv) => kv.key === 'arbor.model')?.value ?? '{}');
      expect(model).toMatchObject({ name: 'arbor-standin', isStandIn: true });

      const json = await runArbor(['embed', CAT, BEAR, '-q']);
      const fromJson = (JSON.parse(json.text) as { embeddings: { embedding: number[] }[] }).embeddings.map((e) => e.embedding);
      // JSON prints the float32 values as doubles; Parquet stores the float32 values: they must be the same numbers.
      rows.forEach((row, i) => {
        expect(row.embedding).toHaveLength(768);
        expect(row.embedding).toEqual(fromJson[i].map((v) => Math.fround(v)));
      });
      expectSameVectors(rows.map((r) => r.embedding), await library.images.embed([await readFile(CAT), await readFile(BEAR)]));
    });
  });

  it('--mode pybioclip preprocesses as pybioclip does (equal to the library in that mode, different from open_clip)', async () => {
    const run = await runArbor(['embed', '--mode', 'pybioclip', OCELOT, '-q']);
    expect(run.code, run.stderr).toBe(0);
    const json = JSON.parse(run.text) as { preprocessing: string; embeddings: { embedding: number[] }[] };
    expect(json.preprocessing).toBe('pybioclip');
    const [pybioclip] = await libraryPybioclip.images.embed([await readFile(OCELOT)]);
    const [openClip] = await library.images.embed([await readFile(OCELOT)]);
    expectSameVectors([json.embeddings[0].embedding], [pybioclip]);
    expect(Math.max(...json.embeddings[0].embedding.map((v, k) => Math.abs(v - openClip[k])))).toBeGreaterThan(1e-4);
  });

  it('fails with a typed error naming the file, exit 1 and no stack trace, for a non-image and a missing file', async () => {
    const notImage = path.join(REPO_ROOT, 'package.json');
    const bad = await runArbor(['embed', CAT, notImage]);
    expectCleanFailure(bad);
    expect(bad.code).toBe(1);
    expect(bad.stdout.length).toBe(0);
    expect(bad.stderr).toContain(`[IMAGE_UNREADABLE]: image '${notImage}'`);

    const missing = await runArbor(['embed', 'no/such/photo.jpg']);
    expectCleanFailure(missing);
    expect(missing.stderr).toContain("[FILE_NOT_FOUND]: image 'no/such/photo.jpg' does not exist");

    await withTempDir(async (dir) => {
      // A truncated JPEG: a real header, then nothing.
      const truncated = path.join(dir, 'truncated.jpg');
      await writeFile(truncated, (await readFile(CAT)).subarray(0, 600));
      const run = await runArbor(['embed', '-o', path.join(dir, 'out.json'), truncated]);
      expectCleanFailure(run);
      expect(run.stderr).toContain(`image '${truncated}'`);
      // Nothing half-written.
      await expect(readFile(path.join(dir, 'out.json'))).rejects.toThrow();
    });
  });

  it('refuses bad options with a usage error (exit 2)', async () => {
    const format = await runArbor(['embed', '--format', 'xml', CAT]);
    expect(format.code).toBe(2);
    expect(format.stderr).toMatch(/--format must be one of json, parquet/);
    const none = await runArbor(['embed']);
    expect(none.code).toBe(2);
    const unknown = await runArbor(['embed', '--bogus', CAT]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Unknown option '--bogus'/);
  });
});

describe('arbor embed-text', { timeout: SPAWNING_TEST_TIMEOUT_MS }, () => {
  it('embeds texts from arguments or stdin lines, equal to the library text encoder', async () => {
    const texts = ['a photo of Leopardus pardalis.', 'Ursus americanus', ''];
    const fromArgs = await runArbor(['embed-text', ...texts, '-q']);
    expect(fromArgs.code, fromArgs.stderr).toBe(0);
    const json = JSON.parse(fromArgs.text) as { model: { isStandIn: boolean }; embeddings: { text: string; embedding: number[] }[] };
    expect(json.model.isStandIn).toBe(true);
    expect(json.embeddings.map((e) => e.text)).toEqual(texts);
    expectSameVectors(json.embeddings.map((e) => e.embedding), await library.texts.embed(texts));

    const fromStdin = await runArbor(['embed-text', '--stdin', '-q'], { input: `${texts.join('\n')}\n` });
    expect(JSON.parse(fromStdin.text)).toEqual(json);
  });

  it('writes Parquet with a text column', async () => {
    await withTempDir(async (dir) => {
      const out = path.join(dir, 't.parquet');
      const run = await runArbor(['embed-text', 'Corvus corax', '-f', 'parquet', '-o', out, '-q']);
      expect(run.code, run.stderr).toBe(0);
      const rows = (await parquetReadObjects({ file: await readArrayBuffer(out) })) as {
        text: string;
        embedding: number[];
      }[];
      expect(rows.map((r) => r.text)).toEqual(['Corvus corax']);
      expectSameVectors([rows[0].embedding], await library.texts.embed(['Corvus corax']));
    });
  });
});
