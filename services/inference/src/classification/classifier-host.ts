import { MicroBatcher } from '../batching/micro-batcher.ts';
import type { ClassifierStatus, ClassifierStatusResponse } from '../client.ts';
import type { InferenceConfig } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { InferenceMetrics } from '../metrics.ts';
import { encoderSha256 } from '../models/encoder-identity.ts';
import type { LoadedModel, ModelHost } from '../models/model-host.ts';
import { embedTextsInChunks } from './embed-texts.ts';
import { ClassifierNotReadyError } from './errors.ts';
import { loadSpeciesCatalog, type CatalogProgress, type CatalogSource, type SpeciesCatalog } from './species-catalog.ts';

// A species list takes seconds to embed with the stand-in and minutes with the real model (cached afterwards).
const LOADING_RETRY_AFTER_S = 10;
const FAILED_RETRY_AFTER_S = 60;

interface CatalogState {
  model: LoadedModel;
  status: Exclude<ClassifierStatus, 'not_loaded'>;
  loading: Promise<SpeciesCatalog>;
  catalog?: SpeciesCatalog;
  error?: unknown;
  /** The build's latest progress report, updated by the loader. */
  progress: { current?: CatalogProgress };
}

export interface ClassifierHostOptions {
  config: InferenceConfig;
  logger: Logger;
  metrics: InferenceMetrics;
  host: ModelHost;
  source: CatalogSource;
}

/**
 * Owns the species catalog of the loaded model (built in the background once, on the first classification request or
 * at start) and the lane classification jobs run in: one job at a time (a job uses every core), a bounded queue of
 * waiting requests (429 beyond it), metrics like the encoders'.
 */
export class ClassifierHost {
  readonly #options: ClassifierHostOptions;
  #state: CatalogState | undefined;
  readonly lane: MicroBatcher<() => Promise<unknown>, unknown>;

  constructor(options: ClassifierHostOptions) {
    this.#options = options;
    this.lane = new MicroBatcher({
      name: 'classify',
      maxBatch: 1,
      maxWaitMs: 0,
      maxQueue: options.config.classifyMaxQueue,
      runBatch: async ([job]) => [await job!()],
      observer: options.metrics.batchObserver('classify'),
    });
  }

  /** Runs a classification job in the lane; QueueFullError when the lane is full. */
  run<T>(job: () => Promise<T>): Promise<T> {
    return this.lane.submit([job]).then(([result]) => result as T);
  }

  /** GET /v1/classify/status's answer. */
  status(): ClassifierStatusResponse {
    const state = this.#state;
    if (!state) return { status: 'not_loaded' };
    return {
      status: state.status,
      ...(state.status === 'loading' && state.progress.current ? { progress: state.progress.current } : {}),
      ...(state.catalog ? { catalog: state.catalog.description } : {}),
      ...(state.error ? { error: (state.error as Error).message } : {}),
    };
  }

  /** Starts building the catalog for `model` unless it is built or being built for it. */
  warm(model: LoadedModel): void {
    if (this.#state?.model === model) return;
    const { config, logger, source } = this.#options;
    const log = logger.child({ component: 'classifier' });
    const textModel = {
      info: model.info,
      manifest: model.package.manifest,
      embeddingDim: model.package.manifest.embeddingDim,
      logitScale: model.package.manifest.logitScale,
      textEncoderSha256: encoderSha256(model, 'text_encoder', config.precision),
      // One batch at a time, waiting for room: with whole MAX_QUEUE chunks the build filled the text queue (clients'
      // text requests were refused for as long as it ran), and a client's request in the queue made it fail.
      embedTexts: (texts: readonly string[]) =>
        embedTextsInChunks(model, texts, Math.min(config.textMaxBatch, config.maxQueue), { background: true }),
    };
    const previous = this.#state?.catalog;
    const progress: CatalogState['progress'] = {};
    const loading = loadSpeciesCatalog(textModel, source, log, { spinWait: config.spinWait }, (step) => (progress.current = step));
    const state: CatalogState = { model, status: 'loading', loading, progress };
    this.#state = state;
    // Jobs already queued may still use the previous catalog: close it behind them in the lane.
    if (previous) this.run(() => previous.close()).catch(() => previous.close());
    state.loading.then(
      (catalog) => {
        state.status = 'ready';
        state.catalog = catalog;
      },
      (error: unknown) => {
        state.status = 'failed';
        state.error = error;
        log.error({ err: error }, 'the species catalog could not be built');
      },
    );
  }

  /** The loaded model (custom labels need no catalog). */
  model(): Promise<LoadedModel> {
    return this.#options.host.acquire();
  }

  /** The catalog of the loaded model; ClassifierNotReadyError (with a retry hint) while it is being built or failed. */
  async acquire(): Promise<{ model: LoadedModel; catalog: SpeciesCatalog }> {
    const model = await this.#options.host.acquire();
    this.warm(model);
    const state = this.#state!;
    if (state.catalog) return { model, catalog: state.catalog };
    if (state.status === 'failed') {
      throw new ClassifierNotReadyError('failed', `the species catalog could not be built: ${(state.error as Error).message}`, FAILED_RETRY_AFTER_S);
    }
    throw new ClassifierNotReadyError('loading', 'the species catalog is being built; retry shortly', LOADING_RETRY_AFTER_S);
  }

  async close(): Promise<void> {
    await this.lane.drain();
    await this.#state?.catalog?.close();
  }
}
