// Entry point: `node --import tsx services/inference/src/main.ts` (see services/inference/README.md).
import { ConfigError, loadConfig, type InferenceConfig } from './config.ts';
import { createLogger } from './logger.ts';
import { InferenceMetrics } from './metrics.ts';
import { ModelHost } from './models/model-host.ts';
import { ClassifierHost } from './classification/classifier-host.ts';
import { registerClassifyRoutes } from './classification/classify.routes.ts';
import { catalogSource } from './classification/species-catalog.ts';
import { startInferenceServer, type RouteRegistrar } from './server.ts';
import { StoredImages } from './stored-images/stored-images.ts';

let config: InferenceConfig;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(2);
}
const logger = createLogger(config.logLevel);
const metrics = new InferenceMetrics();
const host = new ModelHost({ config, logger, metrics });
const classifier = new ClassifierHost({ config, logger, metrics, host, source: catalogSource(config) });
// Routes beyond /v1/embed/* are added here, one registrar per resource.
const routes: RouteRegistrar[] = [registerClassifyRoutes(classifier)];
// With a database, POST /v1/embed/images also takes stored image ids; the server closes the pool on shutdown.
const storedImages = config.databaseUrl ? StoredImages.open({ databaseUrl: config.databaseUrl, imageDir: config.imageDir }, logger) : undefined;
const server = await startInferenceServer({ config, logger, metrics, host, storedImages }, routes);

if (config.modelLoad === 'eager') {
  // A package that fails validation will not fix itself: exit so the supervisor reports it.
  host.load().then(
    (model) => classifier.warm(model),
    async () => {
      await server.close();
      process.exit(1);
    },
  );
}

let signals = 0;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (++signals > 1) {
      logger.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    logger.info({ signal }, 'signal received');
    server
      .close()
      .then(() => classifier.close())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
  });
}
