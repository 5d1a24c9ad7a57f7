// Shared set-up for the service tests: a real service on port 0 over the committed stand-in package,
// captured logs, metrics reading, reference embeddings computed directly with onnxruntime-node, and a
// gate that holds encoder runs so queue states can be reached without relying on timing.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import * as ort from 'onnxruntime-node';
import sharp, { type Sharp } from 'sharp';
import { expect } from 'vitest';

import type { ErrorResponse } from '../../src/client.ts';
import { loadConfig, type InferenceConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { InferenceMetrics } from '../../src/metrics.ts';
import { ModelHost, type ModelHostOptions } from '../../src/models/model-host.ts';
import { loadModelPackage, type ModelPackage } from '../../src/models/model-package.ts';
import { startInferenceServer, type InferenceServer, type RouteRegistrar, type ServiceContext } from '../../src/server.ts';
import type { SessionFactory } from '../../src/sessions/create-session.ts';
import { WorkerSession } from '../../src/sessions/worker-session.ts';
import { preprocessImage } from '../../src/preprocess/index.ts';
import { ClipTokenizer } from '../../src/tokenizer/index.ts';
import { withRun } from './session-proxy.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const STANDIN_DIR = path.join(REPO_ROOT, 'models', 'arbor-standin-v1');
export const PHOTO_DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'images');

export const PHOTOS = [
  'pybioclip/mycat.jpg',
  'cameratrapai/ocelot.jpg',
  'cameratrapai/african_elephants.jpg',
  'cameratrapai/american_black_bear.jpg',
  'cameratrapai/blank.jpg',
  'cameratrapai/domestic_cattle.jpg',
  'cameratrapai/domestic_dog.jpg',
];

export function readPhoto(name: string): Promise<Buffer> {
  return readFile(path.join(PHOTO_DIR, name));
}

/**
 * `count` distinct real photographs: the fixture photos, then their mirror images and rotations, re-encoded
 * as 320 px JPEGs so a test's preprocessing stays quick.
 */
export async function distinctPhotos(count: number): Promise<Buffer[]> {
  const originals = await Promise.all(PHOTOS.map(readPhoto));
  const variants: ((image: Sharp) => Sharp)[] = [(s) => s, (s) => s.flop(), (s) => s.flip(), (s) => s.rotate(90)];
  const out: Buffer[] = [];
  for (const variant of variants) {
    for (const original of originals) {
      if (out.length === count) return out;
      out.push(await variant(sharp(original).resize({ width: 320, withoutEnlargement: true })).jpeg({ quality: 90 }).toBuffer());
    }
  }
  if (out.length < count) throw new Error(`only ${out.length} distinct photos available`);
  return out;
}

/** The default configuration with test-friendly overrides (port 0, small worker pool). */
export function testConfig(overrides: Partial<InferenceConfig> = {}): InferenceConfig {
  return { ...loadConfig({}), port: 0, host: '127.0.0.1', preprocessWorkers: 1, ...overrides };
}

export interface LogLine {
  level: number;
  msg: string;
  requestId?: string;
  [key: string]: unknown;
}

export interface TestService {
  url: string;
  server: InferenceServer;
  host: ModelHost;
  metrics: InferenceMetrics;
  logs: LogLine[];
  config: InferenceConfig;
  close(): Promise<void>;
}

/** A service's parts over the committed stand-in package, with its log lines captured in `logs`. */
export function testContext(
  configOverrides: Partial<InferenceConfig> = {},
  hostOverrides: Pick<ModelHostOptions, 'sessions' | 'loadPackage'> = {},
): { context: ServiceContext; logs: LogLine[] } {
  const config = testConfig(configOverrides);
  const logs: LogLine[] = [];
  const logger = createLogger('debug', { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
  const metrics = new InferenceMetrics({ processMetrics: false });
  const host = new ModelHost({ config, logger, metrics, ...hostOverrides });
  return { context: { config, logger, metrics, host }, logs };
}

export async function startTestService(
  configOverrides: Partial<InferenceConfig> = {},
  hostOverrides: Pick<ModelHostOptions, 'sessions' | 'loadPackage'> = {},
  routes: RouteRegistrar[] | ((context: ServiceContext) => RouteRegistrar[]) = [],
): Promise<TestService> {
  const { context, logs } = testContext(configOverrides, hostOverrides);
  const { config, metrics, host } = context;
  const server = await startInferenceServer(context, typeof routes === 'function' ? routes(context) : routes);
  return { url: server.url, server, host, metrics, logs, config, close: () => server.close() };
}

/** Resolves once the service reports ready (polls /readyz; the model may still be loading). */
export async function waitUntilReady(url: string): Promise<void> {
  for (;;) {
    const response = await fetch(`${url}/readyz`);
    if (response.ok) return;
    if ((await response.json()).status === 'failed') throw new Error('model failed to load');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

/** An error answer: JSON whatever the request asked for, with this status and code, and a message; returns its `error`. */
export async function expectErrorResponse(response: Response, status: number, code: string): Promise<ErrorResponse['error']> {
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await response.json()) as ErrorResponse;
  expect({ status: response.status, code: body.error?.code }).toEqual({ status, code });
  expect(body.error.message).toEqual(expect.any(String));
  return body.error;
}

/** A model-package loader that holds loading until `release()`: the service stays in `loading` meanwhile. */
export function heldPackageLoader(): { loadPackage: (dir: string) => Promise<ModelPackage>; release: () => void } {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  return {
    loadPackage: async (dir) => {
      await held;
      return loadModelPackage(dir);
    },
    release,
  };
}

export function imagesBody(images: readonly Uint8Array[]): { images: string[] } {
  return { images: images.map((image) => Buffer.from(image).toString('base64')) };
}

/** One sample of a Prometheus text exposition, e.g. metric(text, 'inference_queue_depth', { queue: 'image' }). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[3]);
  }
  return undefined;
}

export async function readMetric(url: string, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  return metricValue(await (await fetch(`${url}/metrics`)).text(), name, labels);
}

/** Polls until `predicate` holds; the test's own timeout bounds it. */
export async function eventually(predicate: () => Promise<boolean> | boolean): Promise<void> {
  while (!(await predicate())) await new Promise((resolve) => setTimeout(resolve, 20));
}

/** Holds every run of one encoder's (real, worker-thread) session on the main thread until opened. */
export class RunGate {
  runsStarted = 0;
  #open = false;
  #waiters: (() => void)[] = [];
  #startWaiters: (() => void)[] = [];

  constructor(readonly encoderFile: 'image_encoder' | 'text_encoder') {}

  open(): void {
    this.#open = true;
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /** Resolves once a run has reached the gate. */
  async started(): Promise<void> {
    if (this.runsStarted > 0) return;
    await new Promise<void>((resolve) => this.#startWaiters.push(resolve));
  }

  factory(): SessionFactory {
    return async (modelPath, options) => {
      const session = await WorkerSession.open(modelPath, options);
      if (!path.basename(modelPath).startsWith(this.encoderFile)) return session;
      const run = async (...args: Parameters<ort.InferenceSession['run']>) => {
        this.runsStarted++;
        for (const wake of this.#startWaiters.splice(0)) wake();
        if (!this.#open) await new Promise<void>((resolve) => this.#waiters.push(resolve));
        return session.run(...args);
      };
      return withRun(session, run as ort.InferenceSession['run']);
    };
  }
}

/** Embeddings computed directly with onnxruntime-node, one input at a time, as the reference. */
export class DirectEncoder {
  private constructor(
    readonly pkg: ModelPackage,
    private readonly image: ort.InferenceSession,
    private readonly text: ort.InferenceSession,
    private readonly tokenizer: ClipTokenizer,
  ) {}

  static async open(): Promise<DirectEncoder> {
    const pkg = await loadModelPackage(STANDIN_DIR);
    const image = await ort.InferenceSession.create(pkg.encoderPath('image_encoder', 'fp32')!, { executionProviders: ['cpu'] });
    const text = await ort.InferenceSession.create(pkg.encoderPath('text_encoder', 'fp32')!, { executionProviders: ['cpu'] });
    return new DirectEncoder(pkg, image, text, await ClipTokenizer.load(pkg.tokenizerPath));
  }

  async embedImage(bytes: Uint8Array): Promise<Float32Array> {
    const { manifest } = this.pkg;
    const tensor = await preprocessImage(bytes, { mode: manifest.preprocessing.mode });
    const output = await this.image.run({ [manifest.io.image.input]: new ort.Tensor('float32', tensor.data, tensor.dims) });
    return unit(output[manifest.io.image.output].data as Float32Array);
  }

  async embedText(text: string): Promise<Float32Array> {
    const { manifest } = this.pkg;
    const { ids, dims } = this.tokenizer.tokenizeBatch([text], manifest.tokenizer.contextLength);
    const output = await this.text.run({ [manifest.io.text.input]: new ort.Tensor('int64', ids, dims) });
    return unit(output[manifest.io.text.output].data as Float32Array);
  }

  async release(): Promise<void> {
    await this.image.release();
    await this.text.release();
  }
}

function unit(vector: Float32Array): Float32Array {
  const norm = Math.hypot(...vector);
  return vector.map((v) => v / norm);
}

export function norm(vector: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < vector.length; i++) sum += vector[i] * vector[i];
  return Math.sqrt(sum);
}

export function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}
