// PROTOTYPE (benchmark only): services/inference/src/main.ts with the image path rebuilt from the
// prototypes, chosen by ARBOR_BENCH_PROTOTYPE:
//   prefetch        the service's encoder call, the prefetching worker pool
//   encoder-thread  the service's worker pool, the encoder on its own thread
//   both            both changes
// ARBOR_BENCH_PREFETCH_DEPTH: tasks posted per worker (default ceil(MAX_BATCH / PREPROCESS_WORKERS)).
// Everything else (config, HTTP app, micro-batcher, metrics, shutdown) is the service's own code.
import * as ort from 'onnxruntime-node';

import { loadConfig } from '../../../../services/inference/src/config.ts';
import { createLogger } from '../../../../services/inference/src/logger.ts';
import { InferenceMetrics } from '../../../../services/inference/src/metrics.ts';
import type { ImageEmbedder } from '../../../../services/inference/src/models/image-embedder.ts';
import { chooseEncoderFile, ModelHost } from '../../../../services/inference/src/models/model-host.ts';
import { PreprocessPool } from '../../../../services/inference/src/models/preprocess-pool.ts';
import { startInferenceServer } from '../../../../services/inference/src/server.ts';
import { sessionOptions } from '../../../../services/inference/src/sessions/create-session.ts';
import { EncoderThread } from './encoder-thread.ts';
import { PrefetchPreprocessPool } from './prefetch-preprocess-pool.ts';
import { PrototypeImageEmbedder, type ImagePreprocessor } from './prototype-image-embedder.ts';

export const PROTOTYPES = ['prefetch', 'encoder-thread', 'both'] as const;
export type PrototypeName = (typeof PROTOTYPES)[number];

const variant = process.env.ARBOR_BENCH_PROTOTYPE as PrototypeName;
if (!PROTOTYPES.includes(variant)) throw new Error(`ARBOR_BENCH_PROTOTYPE must be one of ${PROTOTYPES.join(', ')}`);
const config = loadConfig();
const logger = createLogger(config.logLevel);
const metrics = new InferenceMetrics();
const host = new ModelHost({ config, logger, metrics });
const loaded = await host.load();
const { manifest } = loaded.package;

const depth = Number(process.env.ARBOR_BENCH_PREFETCH_DEPTH ?? Math.ceil(config.maxBatch / config.preprocessWorkers));
const poolOptions = {
  size: config.preprocessWorkers,
  maxQueue: config.maxQueue,
  preprocess: { mode: manifest.preprocessing.mode, maxInputPixels: config.maxImagePixels, maxInputBytes: config.maxBodyBytes },
  onQueueDepth: (d: number) => metrics.queueDepth.set({ queue: 'preprocess' }, d),
  onRejected: () => metrics.queueRejections.inc({ queue: 'preprocess' }),
  onImageDone: (ms: number) => metrics.preprocessDuration.observe(ms / 1000),
};
const pool: ImagePreprocessor & { close(): Promise<void> } =
  variant === 'encoder-thread' ? new PreprocessPool(poolOptions) : new PrefetchPreprocessPool({ ...poolOptions, perWorkerDepth: depth });
const modelPath = chooseEncoderFile(loaded.package, 'image_encoder', config.precision, false);
const options = sessionOptions(['cpu'], { providers: ['cpu'], intraOpThreads: config.intraOpThreads, interOpThreads: config.interOpThreads, cudaDeviceId: 0 });
const encoder: { session: ort.InferenceSession } | { thread: EncoderThread } =
  variant === 'prefetch'
    ? { session: await ort.InferenceSession.create(modelPath, options) }
    : { thread: await EncoderThread.open(modelPath, options, manifest.io.image) };

const previous = loaded.images;
const prototype = new PrototypeImageEmbedder({
  encoder,
  io: manifest.io.image,
  imageSize: manifest.imageSize,
  embeddingDim: manifest.embeddingDim,
  pool,
  batch: { maxBatch: config.maxBatch, maxWaitMs: config.maxWaitMs, maxQueue: config.maxQueue },
  observer: metrics.batchObserver('image'),
});
// The route calls embed() and shutdown calls close(); the prototype has both.
const closePrototype = prototype.close.bind(prototype);
loaded.images = Object.assign(prototype, {
  close: async () => {
    await closePrototype();
    await previous.close();
    await pool.close();
    if ('thread' in encoder) await encoder.thread.close();
    else await encoder.session.release();
  },
}) as unknown as ImageEmbedder;
logger.info({ variant, perWorkerDepth: variant === 'encoder-thread' ? 1 : depth }, 'PROTOTYPE image path');

const server = await startInferenceServer({ config, logger, metrics, host }, []);
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
