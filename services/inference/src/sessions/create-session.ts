import * as ort from 'onnxruntime-node';

import { chooseProviders, installedProviders, type ExecutionProviderName, type ProviderProbe } from './providers.ts';

export interface SessionSettings {
  /** Preference order from configuration, e.g. ['cuda', 'cpu']. */
  providers: readonly ExecutionProviderName[];
  /** Threads one operator may use (CPU provider). */
  intraOpThreads: number;
  /** Threads running independent operators side by side; only used by the parallel execution mode. */
  interOpThreads: number;
  /**
   * Let ONNX Runtime's idle threads spin between parallel sections (its default). Off, they sleep: on a
   * CPU shared with preprocessing and HTTP the spinning took cores those needed (inference-http bench).
   */
  spinWait: boolean;
  cudaDeviceId: number;
}

export type SessionFactory = (modelPath: string, options: ort.InferenceSession.SessionOptions) => Promise<ort.InferenceSession>;

export interface SessionLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface SessionDependencies {
  logger: SessionLogger;
  /** Which providers are installed; replaced in tests. */
  probe?: ProviderProbe;
  /** Creates the session; replaced in tests. */
  factory?: SessionFactory;
}

export interface EncoderSession {
  session: ort.InferenceSession;
  /** Providers the session was created with, in priority order. */
  providers: ExecutionProviderName[];
  modelPath: string;
}

const createOrtSession: SessionFactory = (modelPath, options) => ort.InferenceSession.create(modelPath, options);

export function sessionOptions(
  providers: readonly ExecutionProviderName[],
  settings: SessionSettings,
): ort.InferenceSession.SessionOptions {
  const executionProviders = providers.map((provider) =>
    provider === 'cuda' ? { name: 'cuda' as const, deviceId: settings.cudaDeviceId } : ('cpu' as const),
  );
  return {
    executionProviders,
    graphOptimizationLevel: 'all',
    // A CLIP encoder is one chain of operators, so parallel execution has nothing to overlap;
    // interOpThreads only takes effect if a future model benefits from the parallel mode.
    executionMode: settings.interOpThreads > 1 ? 'parallel' : 'sequential',
    intraOpNumThreads: settings.intraOpThreads,
    interOpNumThreads: settings.interOpThreads,
    ...(settings.spinWait ? {} : { extra: { 'session.intra_op.allow_spinning': '0', 'session.inter_op.allow_spinning': '0' } }),
  };
}

/**
 * Opens one encoder with the configured execution providers. CUDA is tried only when configured and
 * installed; if creating the CUDA session still fails (no driver, no device), it falls back to CPU
 * with a logged warning. `modelFor(usesCuda)` picks the file under MODEL_PRECISION (models/encoder-precision.ts):
 * by default the fp16 encoder on CUDA and fp32 on CPU; int8 only when configured.
 */
export async function createEncoderSession(
  encoder: string,
  modelFor: (usesCuda: boolean) => string,
  settings: SessionSettings,
  dependencies: SessionDependencies,
): Promise<EncoderSession> {
  const { logger, probe = installedProviders, factory = createOrtSession } = dependencies;
  const providers = chooseProviders(settings.providers, probe(), logger);
  if (providers.includes('cuda')) {
    const modelPath = modelFor(true);
    try {
      const session = await factory(modelPath, sessionOptions(providers, settings));
      logger.info({ encoder, providers, modelPath }, `${encoder} session created`);
      return { session, providers, modelPath };
    } catch (error) {
      logger.warn({ encoder, err: error }, `${encoder}: creating the CUDA session failed; falling back to CPU`);
    }
  }
  const modelPath = modelFor(false);
  const session = await factory(modelPath, sessionOptions(['cpu'], settings));
  logger.info(
    { encoder, providers: ['cpu'], modelPath, intraOpThreads: settings.intraOpThreads },
    `${encoder} session created`,
  );
  return { session, providers: ['cpu'], modelPath };
}
