import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** Execution providers this service knows how to configure, in the order it prefers them. */
export const EXECUTION_PROVIDERS = ['cuda', 'cpu'] as const;
export type ExecutionProviderName = (typeof EXECUTION_PROVIDERS)[number];

/** Reports which execution providers can run here. Tests replace it to fake a CUDA machine. */
export type ProviderProbe = () => ReadonlySet<ExecutionProviderName>;

/** The warn method of the service logger (pino's signature). */
export interface WarnLogger {
  warn(fields: object, message: string): void;
}

// The npm package bundles the CPU provider only. `npm install --onnxruntime-node-install=cuda12`
// adds this library beside the binding; without it, asking for CUDA fails at session creation.
const CUDA_PROVIDER_LIBRARY = 'libonnxruntime_providers_cuda.so';

function bindingDirectory(): string {
  const packageJson = createRequire(import.meta.url).resolve('onnxruntime-node/package.json');
  return path.join(path.dirname(packageJson), 'bin', 'napi-v6', process.platform, process.arch);
}

/** CPU always; CUDA when its provider library was installed next to onnxruntime-node's binding (Linux). */
export const installedProviders: ProviderProbe = () => {
  const available = new Set<ExecutionProviderName>(['cpu']);
  if (process.platform === 'linux' && existsSync(path.join(bindingDirectory(), CUDA_PROVIDER_LIBRARY))) {
    available.add('cuda');
  }
  return available;
};

/**
 * The providers to ask ONNX Runtime for, in the configured order, keeping only those available and
 * always ending with CPU so a session can be created on any machine. Each dropped provider is logged.
 */
export function chooseProviders(
  requested: readonly ExecutionProviderName[],
  available: ReadonlySet<ExecutionProviderName>,
  logger: WarnLogger,
): ExecutionProviderName[] {
  const chosen: ExecutionProviderName[] = [];
  for (const provider of requested) {
    if (chosen.includes(provider)) continue;
    if (available.has(provider)) chosen.push(provider);
    else {
      logger.warn(
        { provider, available: [...available] },
        `execution provider ${provider} is not installed here; skipping it (CPU stays as the fallback)`,
      );
    }
  }
  if (!chosen.includes('cpu')) chosen.push('cpu');
  return chosen;
}
