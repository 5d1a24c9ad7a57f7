// POST /v1/classify and InferenceClient.classify against the real service with the committed stand-in model.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { ClassifierHost } from '../../src/classification/classifier-host.ts';
import { registerClassifyRoutes } from '../../src/classification/classify.routes.ts';
import type { CatalogSource } from '../../src/classification/species-catalog.ts';
import { InferenceClient, InferenceClientError, type ClassifierStatusResponse, type ClassifyResponse, type ErrorResponse } from '../../src/client.ts';
import { CustomLabelsClassifier, embedClassTexts, JsSpeciesScorer, TreeOfLifeClassifier } from '../../src/classify/index.ts';
import { loadSpeciesIndex } from '../../src/cli/species/species-source.ts';
import type { InferenceConfig } from '../../src/config.ts';
import { DirectEncoder, postJson, readPhoto, REPO_ROOT, startTestService, waitUntilReady, type TestService } from './support.ts';

const FIXTURES = path.join(REPO_ROOT, 'services/inference/test/cli/fixtures');
// 12 species in 3 kingdoms, with the homonym genus Morus (gannets and mulberries), embedded with the stand-in.
const OFFICIAL: CatalogSource = { kind: 'species-embeddings', dir: path.join(FIXTURES, 'candidate-species-embeddings') };
// The service's embeddings equal the direct ONNX Runtime ones to ~1e-6; scores then agree far closer than this.
const SCORE_TOLERANCE = 1e-4;
const silent = { note() {}, task: () => ({ update() {}, finish() {} }) };

let direct: DirectEncoder;
let photos: Buffer[];
let embeddings: Float32Array[];
let reference: TreeOfLifeClassifier;

beforeAll(async () => {
  direct = await DirectEncoder.open();
  photos = await Promise.all(['pybioclip/mycat.jpg', 'cameratrapai/ocelot.jpg'].map(readPhoto));
  embeddings = await Promise.all(photos.map((photo) => direct.embedImage(photo)));
  const { index } = await loadSpeciesIndex(OFFICIAL.dir, { dim: 768, reporter: silent });
  reference = new TreeOfLifeClassifier(index, { logitScale: direct.pkg.manifest.logitScale, scorer: new JsSpeciesScorer() });
});

afterAll(async () => {
  await direct?.release();
});

interface ClassifyService {
  service: TestService;
  classifier: ClassifierHost;
  close(): Promise<void>;
}

let running: ClassifyService | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

async function startClassifyService(source: CatalogSource = OFFICIAL, overrides: Partial<InferenceConfig> = {}): Promise<ClassifyService> {
  let classifier!: ClassifierHost;
  const service = await startTestService(overrides, {}, (context) => {
    classifier = new ClassifierHost({ ...context, source });
    return [registerClassifyRoutes(classifier)];
  });
  await waitUntilReady(service.url);
  running = {
    service,
    classifier,
    close: async () => {
      await service.close();
      await classifier.close();
    },
  };
  return running;
}

/** POST /v1/classify, retrying while the species catalog is being built. */
async function classify(url: string, body: unknown): Promise<{ status: number; json: ClassifyResponse & ErrorResponse }> {
  for (;;) {
    const response = await postJson(`${url}/v1/classify`, body);
    const json = (await response.json()) as ClassifyResponse & ErrorResponse;
    if (response.status !== 503 || json.error.code !== 'CLASSIFIER_NOT_READY') return { status: response.status, json };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

describe('POST /v1/classify over the tree of life', () => {
  it('gives pybioclip-style predictions equal to the library on the same embeddings, and says the model is a stand-in', async () => {
    const { service } = await startClassifyService();
    const { status, json } = await classify(service.url, { images: photos.map(base64), rank: 'genus', k: 3 });
    expect(status).toBe(200);
    expect(json.model).toMatchObject({ name: 'arbor-standin', isStandIn: true });
    expect(json.model.notice).toMatch(/NOT BioCLIP 2/);
    expect(json.candidates).toEqual({ source: 'species-embeddings', name: 'candidate-species-embeddings', species: 12 });
    const expected = await reference.classify(embeddings, { rank: 'genus', k: 3 });
    expect(json.results).toHaveLength(2);
    json.results.forEach((result, i) => {
      const rows = expected[i]!.predictions.genus!;
      expect(result.predictions.map((row) => row.genus)).toEqual(rows.map((row) => row.genus));
      result.predictions.forEach((row, j) => expect(Math.abs(row.score - rows[j]!.score)).toBeLessThan(SCORE_TOLERANCE));
      expect(Object.keys(result.predictions[0]!)).toEqual(['kingdom', 'phylum', 'class', 'order', 'family', 'genus', 'score']);
      expect(result.answer?.name).toBe(expected[i]!.answer?.name);
      expect(result.exactness?.certified.genus).toBe(true);
    });
  });

  it('classifies stored embeddings like the images they came from', async () => {
    const { service } = await startClassifyService();
    const fromImages = await classify(service.url, { images: photos.map(base64), k: 12 });
    const fromEmbeddings = await classify(service.url, { embeddings: embeddings.map((e) => Array.from(e)), k: 12 });
    expect(fromEmbeddings.status).toBe(200);
    fromEmbeddings.json.results.forEach((result, i) => {
      const other = fromImages.json.results[i]!.predictions;
      expect(result.predictions.map((row) => row.species)).toEqual(other.map((row) => row.species));
      expect(Object.keys(result.predictions[0]!)).toContain('common_name');
    });
  });

  it('restricts the candidates to a subset, homonyms included, and names unknown taxa', async () => {
    const { service } = await startClassifyService();
    const morus = await classify(service.url, { embeddings: [Array.from(embeddings[0]!)], subset: { rank: 'genus', names: ['Morus'] }, k: 5 });
    expect(morus.status).toBe(200);
    const kingdoms = new Set(morus.json.results[0]!.predictions.map((row) => row.kingdom));
    expect(kingdoms).toEqual(new Set(['Animalia', 'Plantae']));
    const total = morus.json.results[0]!.predictions.reduce((sum, row) => sum + row.score, 0);
    expect(total).toBeCloseTo(1, 9);

    const unknown = await classify(service.url, { embeddings: [Array.from(embeddings[0]!)], subset: { rank: 'genus', names: ['Nonexistens'] } });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error).toMatchObject({ code: 'UNKNOWN_TAXON', details: { field: 'subset' } });
  });

  it('refuses bad input with a typed 400 naming the field', async () => {
    const { service } = await startClassifyService();
    const vector = Array.from(embeddings[0]!);
    const cases: [unknown, string, string][] = [
      [{ embeddings: [vector], k: 0 }, 'INVALID_REQUEST', 'k'],
      [{ embeddings: [vector], rank: 'tribe' }, 'INVALID_REQUEST', 'rank'],
      [{ embeddings: [vector], threshold: 2 }, 'INVALID_REQUEST', 'threshold'],
      [{ embeddings: [vector], images: [base64(photos[0]!)] }, 'INVALID_REQUEST', 'images'],
      [{ k: 3 }, 'INVALID_REQUEST', 'images'],
      [{ embeddings: [vector], extra: true }, 'INVALID_REQUEST', ''],
      [{ embeddings: [[1, 2, 3]] }, 'INVALID_EMBEDDING', 'embeddings.0'],
      [{ embeddings: [new Array(768).fill(0)] }, 'INVALID_EMBEDDING', 'embeddings'],
      [{ embeddings: [vector], labels: ['cat', 'cat'] }, 'INVALID_REQUEST', 'labels'],
      [{ embeddings: [vector], labels: ['cat'], subset: { rank: 'genus', names: ['Morus'] } }, 'INVALID_REQUEST', 'subset'],
    ];
    for (const [body, code, field] of cases) {
      const { status, json } = await classify(service.url, body);
      expect(status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(json.error.code).toBe(code);
      expect(json.error.details?.field ?? '').toBe(field);
    }
    const corrupt = await classify(service.url, { images: [base64(Buffer.from('not an image'))] });
    expect(corrupt.status).toBe(400);
  });

  it('refuses work beyond CLASSIFY_MAX_QUEUE with 429 and Retry-After, and finishes what it accepted', async () => {
    const { service, classifier } = await startClassifyService(OFFICIAL, { classifyMaxQueue: 1 });
    await classify(service.url, { embeddings: [Array.from(embeddings[0]!)] }); // the catalog is built
    let release!: () => void;
    const blocker = classifier.run(() => new Promise<void>((resolve) => (release = resolve)));
    const body = { embeddings: [Array.from(embeddings[0]!)] };
    const queued = postJson(`${service.url}/v1/classify`, body);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const refused = await postJson(`${service.url}/v1/classify`, body);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(((await refused.json()) as ErrorResponse).error.code).toBe('QUEUE_FULL');
    release();
    await blocker;
    expect((await queued).status).toBe(200);
  });
});

describe('POST /v1/classify with custom labels', () => {
  it('scores open-vocabulary labels like the library, and sums bins', async () => {
    const { service } = await startClassifyService();
    const labels = ['a photo of a cat', 'a photo of a dog', 'a photo of a tree'];
    const { status, json } = await classify(service.url, { embeddings: embeddings.map((e) => Array.from(e)), labels, k: 3 });
    expect(status).toBe(200);
    expect(json.candidates).toEqual({ source: 'labels', count: 3 });
    const vectors = await embedClassTexts(labels, async (texts) => Promise.all(texts.map((t) => direct.embedText(t))), { dim: 768 });
    const library = new CustomLabelsClassifier(labels.map((label, i) => ({ label, embedding: vectors[i]! })), { logitScale: 100, dim: 768 });
    const expected = library.classify(embeddings, 3);
    json.results.forEach((result, i) => {
      expect(result.predictions.map((p) => p.classification)).toEqual(expected[i]!.map((p) => p.classification));
      result.predictions.forEach((p, j) => expect(Math.abs(p.score - expected[i]![j]!.score)).toBeLessThan(SCORE_TOLERANCE));
    });

    const binned = await classify(service.url, {
      embeddings: [Array.from(embeddings[0]!)],
      labels: [
        { label: labels[0], bin: 'animal' },
        { label: labels[1], bin: 'animal' },
        { label: labels[2], bin: 'plant' },
      ],
    });
    expect(binned.json.candidates).toEqual({ source: 'bins', count: 2 });
    const animal = binned.json.results[0]!.predictions.find((p) => p.classification === 'animal')!.score;
    const separate = json.results[0]!.predictions.filter((p) => p.classification !== labels[2]).reduce((sum, p) => sum + p.score, 0);
    expect(animal).toBeCloseTo(separate, 9);
  });
});

describe('the species catalog from a species list', () => {
  it('answers 503 CLASSIFIER_NOT_READY while embedding the list, then classifies from the cached embeddings', async () => {
    const cacheDir = await mkdtemp(path.join(tmpdir(), 'arbor-classify-cache-'));
    try {
      const source: CatalogSource = { kind: 'species-list', file: path.join(FIXTURES, 'candidate-species.csv'), cacheDir };
      const { service } = await startClassifyService(source);
      const first = await postJson(`${service.url}/v1/classify`, { embeddings: [Array.from(embeddings[0]!)] });
      expect(first.status).toBe(503);
      expect(first.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(((await first.json()) as ErrorResponse).error.code).toBe('CLASSIFIER_NOT_READY');
      const client = new InferenceClient({ baseUrl: service.url });
      const loading = await client.classifierStatus();
      expect(loading.status).toBe('loading');
      expect(loading.catalog).toBeUndefined();
      // The list is read, then embedded: progress appears once the list is read, and never runs past its total.
      if (loading.progress) expect(loading.progress.done).toBeLessThanOrEqual(loading.progress.total);
      // The build shares the text queue with clients: a client's request of 128 texts is served while it runs, and
      // one that fills the queue (MAX_TEXTS_PER_REQUEST, 256) is served or told to retry, and does not fail the build.
      const texts = (n: number) => Array.from({ length: n }, (_, i) => `a photo of species ${i}`);
      const [during, filling] = await Promise.all([
        postJson(`${service.url}/v1/embed/texts`, { texts: texts(128) }),
        postJson(`${service.url}/v1/embed/texts`, { texts: texts(256) }),
      ]);
      expect(during.status, await during.clone().text()).toBe(200);
      expect([200, 429]).toContain(filling.status);

      const { status, json } = await classify(service.url, { embeddings: [Array.from(embeddings[0]!)], k: 12 });
      expect(status).toBe(200);
      expect(json.candidates).toEqual({ source: 'species-list', name: 'candidate-species.csv', species: 12 });
      expect(await readdir(path.join(cacheDir, 'species-text-embeddings'))).toHaveLength(1);
      expect(await client.classifierStatus()).toEqual({ status: 'ready', catalog: json.candidates });
      // The list embedded here is the list the official-format fixture was made from.
      const expected = (await reference.classify([embeddings[0]!], { k: 12 }))[0]!.predictions.species!;
      expect(json.results[0]!.predictions.map((row) => row.species)).toEqual(expected.map((row) => row.species));
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
  });
});

describe('GET /v1/classify/status', () => {
  it('reports the build of the species catalog while it runs, with the species embedded so far', async () => {
    const cacheDir = await mkdtemp(path.join(tmpdir(), 'arbor-classify-cache-'));
    try {
      const source: CatalogSource = { kind: 'species-list', file: path.join(FIXTURES, 'candidate-species.csv'), cacheDir };
      const { service, classifier } = await startClassifyService(source);
      const client = new InferenceClient({ baseUrl: service.url });
      // Here the build starts with the first classification request, or as below (the service starts it at load).
      expect(await client.classifierStatus()).toEqual({ status: 'not_loaded' });
      classifier.warm(await service.host.load());
      const seen: ClassifierStatusResponse[] = [];
      for (;;) {
        const status = await client.classifierStatus();
        seen.push(status);
        if (status.status !== 'loading') break;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      expect(seen.at(-1)).toEqual({ status: 'ready', catalog: { source: 'species-list', name: 'candidate-species.csv', species: 12 } });
      // Steps: embedding the list (cached afterwards), then reading the embeddings into the index.
      const steps = new Map<string, number[]>();
      for (const { progress } of seen) if (progress) steps.set(progress.step, [...(steps.get(progress.step) ?? []), progress.done]);
      const embedding = [...steps.keys()].find((step) => step.startsWith('embedding 12 candidate species'));
      expect(embedding, [...steps.keys()].join('; ')).toBeDefined();
      expect(seen.find((status) => status.progress?.step === embedding)!.progress).toMatchObject({ total: 12, unit: 'species' });
      for (const done of steps.values()) expect(done).toEqual([...done].sort((a, b) => a - b));
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
  });

  it('says failed, with the reason, when the catalog cannot be built', async () => {
    const missing: CatalogSource = { kind: 'species-embeddings', dir: path.join(FIXTURES, 'no-such-folder') };
    const { service, classifier } = await startClassifyService(missing);
    const client = new InferenceClient({ baseUrl: service.url });
    classifier.warm(await service.host.load());
    let status = await client.classifierStatus();
    while (status.status === 'loading') {
      await new Promise((resolve) => setTimeout(resolve, 5));
      status = await client.classifierStatus();
    }
    expect(status.status).toBe('failed');
    expect(status.error).toMatch(/no-such-folder/);
  });
});

describe('InferenceClient.classify', () => {
  it('sends image bytes or embeddings and returns typed results; errors are InferenceClientError', async () => {
    const { service } = await startClassifyService();
    const client = new InferenceClient({ baseUrl: service.url, maxRetryDelayMs: 1000 });
    await classify(service.url, { embeddings: [Array.from(embeddings[0]!)] }); // the catalog is built
    const fromBytes = await client.classify({ images: photos, rank: 'family', k: 2 });
    expect(fromBytes.results).toHaveLength(2);
    expect(fromBytes.results[0]!.predictions[0]).toHaveProperty('family');
    const fromVectors = await client.classify({ embeddings, rank: 'family', k: 2 });
    expect(fromVectors.results.map((r) => r.predictions[0]!.family)).toEqual(fromBytes.results.map((r) => r.predictions[0]!.family));
    const error = await client.classify({ embeddings, subset: { rank: 'genus', names: ['Nonexistens'] } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InferenceClientError);
    expect(error).toMatchObject({ code: 'UNKNOWN_TAXON', status: 400 });
  });
});
