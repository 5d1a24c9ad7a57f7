import { ShuttingDownError } from '../batching/errors.ts';
import type { ModelInfo, ReadinessResponse, ReadinessStatus } from '../client.ts';
import type { InferenceConfig } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { InferenceMetrics } from '../metrics.ts';
import { createEncoderSession, type EncoderSession, type SessionDependencies } from '../sessions/create-session.ts';
import { openWorkerSession } from '../sessions/worker-session.ts';
import { ClipTokenizer, EOT_TOKEN_ID, SOT_TOKEN_ID } from '../tokenizer/index.ts';
import { chooseEncoderFile } from './encoder-precision.ts';
import { EncoderHealth } from './encoder-health.ts';
import { ModelNotReadyError, ModelPackageError, ModelUnavailableError } from './errors.ts';
import { ImageEmbedder } from './image-embedder.ts';
import type { EncoderRole } from './manifest.schema.ts';
import { loadModelPackage, type ModelPackage } from './model-package.ts';
import { prefetchDepth, PreprocessPool } from './preprocess-pool.ts';
import { TextEmbedder } from './text-embedder.ts';

/** Everything a request needs once the model package is loaded. */
export interface LoadedModel {
  package: ModelPackage;
  info: ModelInfo;
  images: ImageEmbedder;
  texts: TextEmbedder;
  providers: { image: string[]; text: string[] };
}

export interface ModelHostOptions {
  config: InferenceConfig;
  logger: Logger;
  metrics: InferenceMetrics;
  /** Fakes for the provider probe and session factory (tests); the default factory puts each session on its own worker thread. */
  sessions?: Pick<SessionDependencies, 'probe' | 'factory'>;
  /** Replaces loadModelPackage (tests use it to hold loading open). */
  loadPackage?: (dir: string) => Promise<ModelPackage>;
}

type LoadState = Exclude<ReadinessStatus, 'shutting_down'>;

// How long a caller should wait before asking again while the model loads (the real package takes seconds).
const LOADING_RETRY_AFTER_S = 5;
const FAILED_RETRY_AFTER_S = 30;

// Selection lives in encoder-precision.ts; the CLI, classification and benchmarks import it from here.
export { chooseEncoderFile };

/**
 * Owns the model package and its encoders: loads them eagerly or on first use (MODEL_LOAD), answers
 * readiness, hands loaded encoders to requests, and releases everything on shutdown.
 */
export class ModelHost {
  readonly #options: ModelHostOptions;
  #state: LoadState = 'not_loaded';
  #loading: Promise<LoadedModel> | undefined;
  #loaded: LoadedModel | undefined;
  #error: unknown;
  #closing = false;
  // Release steps of what #load created, pushed as each thing is created so that a failure half-way
  // releases exactly what exists; run newest first.
  #releaseSteps: (() => Promise<void>)[] = [];
  readonly #encoderHealth: EncoderHealth;

  constructor(options: ModelHostOptions) {
    this.#options = options;
    this.#encoderHealth = new EncoderHealth(options.logger, () => options.metrics.modelReady.set(this.readiness().ready ? 1 : 0));
  }

  get state(): LoadState {
    return this.#state;
  }

  /** Loads the package once; concurrent callers share the attempt, and a failed attempt may be retried. */
  load(): Promise<LoadedModel> {
    if (this.#loaded) return Promise.resolve(this.#loaded);
    if (this.#closing) return Promise.reject(new ShuttingDownError('model'));
    this.#loading ??= this.#load().then(
      (loaded) => {
        this.#loaded = loaded;
        this.#state = 'ready';
        this.#options.metrics.modelReady.set(1);
        return loaded;
      },
      (error: unknown) => {
        this.#loading = undefined;
        this.#error = error;
        this.#state = 'failed';
        this.#options.logger.error({ err: error, modelDir: this.#options.config.modelDir }, 'loading the model package failed');
        throw error;
      },
    );
    return this.#loading;
  }

  /**
   * The loaded model for a request. Eager mode answers ModelNotReadyError while loading; lazy mode loads
   * on this first use and waits for it. A failed load is ModelUnavailableError.
   */
  async acquire(): Promise<LoadedModel> {
    if (this.#closing) throw new ShuttingDownError('model');
    if (this.#loaded) return this.#loaded;
    if (this.#options.config.modelLoad === 'eager') {
      if (this.#state === 'failed') throw new ModelUnavailableError(FAILED_RETRY_AFTER_S, { cause: this.#error });
      throw new ModelNotReadyError(this.#state, LOADING_RETRY_AFTER_S);
    }
    try {
      return await this.load();
    } catch (error) {
      if (error instanceof ShuttingDownError) throw error;
      throw new ModelUnavailableError(FAILED_RETRY_AFTER_S, { cause: error });
    }
  }

  readiness(): { ready: boolean; retryAfterSeconds: number; body: ReadinessResponse } {
    if (this.#closing) return { ready: false, retryAfterSeconds: LOADING_RETRY_AFTER_S, body: { status: 'shutting_down' } };
    const trouble = this.#loaded && this.#encoderHealth.trouble();
    if (trouble) {
      return { ready: false, retryAfterSeconds: trouble.status === 'failed' ? FAILED_RETRY_AFTER_S : LOADING_RETRY_AFTER_S, body: trouble };
    }
    if (this.#loaded) {
      return { ready: true, retryAfterSeconds: 0, body: { status: 'ready', model: this.#loaded.info, providers: this.#loaded.providers } };
    }
    const body: ReadinessResponse = { status: this.#state };
    if (this.#state === 'failed') body.error = this.#error instanceof Error ? this.#error.message : String(this.#error);
    return { ready: false, retryAfterSeconds: this.#state === 'failed' ? FAILED_RETRY_AFTER_S : LOADING_RETRY_AFTER_S, body };
  }

  /** Refuses new work, lets accepted work finish, then releases the sessions and worker threads. */
  async close(): Promise<void> {
    this.#closing = true;
    this.#options.metrics.modelReady.set(0);
    const loaded = this.#loaded ?? (await this.#loading?.catch(() => undefined));
    if (!loaded) return;
    await Promise.all([loaded.images.close(), loaded.texts.close()]);
    await this.#teardown();
  }

  async #teardown(): Promise<void> {
    for (const release of this.#releaseSteps.splice(0).reverse()) {
      await release().catch((error: unknown) => this.#options.logger.warn({ err: error }, 'releasing a model resource failed'));
    }
  }

  async #load(): Promise<LoadedModel> {
    const { config, logger, metrics } = this.#options;
    this.#state = 'loading';
    const startedAt = performance.now();
    logger.info({ modelDir: config.modelDir, providers: config.providers }, 'loading the model package');
    try {
      const pkg = await (this.#options.loadPackage ?? loadModelPackage)(config.modelDir);
      const { manifest } = pkg;
      if (manifest.tokenizer.sot !== SOT_TOKEN_ID || manifest.tokenizer.eot !== EOT_TOKEN_ID) {
        throw new ModelPackageError(
          'MANIFEST_INVALID',
          pkg.dir,
          `tokenizer sot/eot ${manifest.tokenizer.sot}/${manifest.tokenizer.eot} differ from the CLIP tokenizer's ${SOT_TOKEN_ID}/${EOT_TOKEN_ID}`,
        );
      }
      const tokenizer = await ClipTokenizer.load(pkg.tokenizerPath);
      const sessionSettings = {
        providers: config.providers,
        intraOpThreads: config.intraOpThreads,
        interOpThreads: config.interOpThreads,
        spinWait: config.spinWait,
        cudaDeviceId: config.cudaDeviceId,
      };
      const dependencies = { logger, factory: openWorkerSession, ...this.#options.sessions };
      const open = async (role: EncoderRole): Promise<EncoderSession> => {
        const created = await createEncoderSession(
          role,
          (usesCuda) => chooseEncoderFile(pkg, role, config.precision, usesCuda),
          sessionSettings,
          dependencies,
        );
        this.#releaseSteps.push(() => created.session.release());
        this.#encoderHealth.watch(role, created.session);
        return created;
      };
      const imageSession = await open('image_encoder');
      const textSession = await open('text_encoder');

      const pool = new PreprocessPool({
        size: config.preprocessWorkers,
        maxQueue: config.maxQueue,
        perWorkerDepth: prefetchDepth(config.maxBatch, config.preprocessWorkers),
        preprocess: { mode: manifest.preprocessing.mode, maxInputPixels: config.maxImagePixels, maxInputBytes: config.maxBodyBytes },
        onQueueDepth: (depth) => metrics.queueDepth.set({ queue: 'preprocess' }, depth),
        onRejected: () => metrics.queueRejections.inc({ queue: 'preprocess' }),
        onImageDone: (durationMs) => metrics.preprocessDuration.observe(durationMs / 1000),
      });
      this.#releaseSteps.push(() => pool.close());

      const images = new ImageEmbedder({
        session: imageSession.session,
        io: manifest.io.image,
        imageSize: manifest.imageSize,
        embeddingDim: manifest.embeddingDim,
        pool,
        batch: { maxBatch: config.maxBatch, maxWaitMs: config.maxWaitMs, maxQueue: config.maxQueue },
        observer: metrics.batchObserver('image'),
      });
      const texts = new TextEmbedder({
        session: textSession.session,
        io: manifest.io.text,
        tokenizer,
        contextLength: manifest.tokenizer.contextLength,
        embeddingDim: manifest.embeddingDim,
        batch: { maxBatch: config.textMaxBatch, maxWaitMs: config.maxWaitMs, maxQueue: config.maxQueue },
        observer: metrics.batchObserver('text'),
      });
      logger.info(
        {
          model: pkg.info,
          providers: { image: imageSession.providers, text: textSession.providers },
          files: { image: imageSession.modelPath, text: textSession.modelPath },
          loadMs: Math.round(performance.now() - startedAt),
        },
        pkg.info.isStandIn ? 'model loaded: STAND-IN package, not BioCLIP 2' : 'model loaded',
      );
      return { package: pkg, info: pkg.info, images, texts, providers: { image: imageSession.providers, text: textSession.providers } };
    } catch (error) {
      await this.#teardown();
      throw error;
    }
  }
}
