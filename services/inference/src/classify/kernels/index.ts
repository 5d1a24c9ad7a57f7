import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

import { jsKernels } from './js-kernels.ts';
import type { ClassifyKernels } from './kernels.ts';

export type { ClassifyKernels } from './kernels.ts';
export { jsKernels } from './js-kernels.ts';

/** Where `npm run build:native` puts the addon (services/inference/native/build/Release). */
export const NATIVE_KERNELS_PATH = fileURLToPath(new URL('../../../native/build/Release/arbor_classify_kernels.node', import.meta.url));

/** The native kernels; throws when the addon is not built or does not load. */
export function loadNativeKernels(): ClassifyKernels {
  if (!existsSync(NATIVE_KERNELS_PATH)) throw new Error(`${NATIVE_KERNELS_PATH} is not built (npm run build:native)`);
  const addon = createRequire(import.meta.url)(NATIVE_KERNELS_PATH) as Omit<ClassifyKernels, 'name'>;
  return { ...addon, name: 'native' };
}

/** Why the TypeScript kernels are in use, or undefined when the native ones are. */
export let nativeKernelsUnavailable: string | undefined;

/**
 * The native kernels when the addon is built and loads, unless ARBOR_NATIVE_KERNELS=off; otherwise the TypeScript
 * ones (same results, slower). ARBOR_NATIVE_KERNELS=required makes a missing or broken addon an error (CI sets it).
 */
function chooseKernels(): ClassifyKernels {
  const setting = (process.env.ARBOR_NATIVE_KERNELS ?? 'auto').toLowerCase();
  if (!['auto', 'off', 'required'].includes(setting)) throw new Error(`ARBOR_NATIVE_KERNELS must be auto, off or required, got '${setting}'`);
  if (setting === 'off') {
    nativeKernelsUnavailable = 'turned off by ARBOR_NATIVE_KERNELS=off';
    return jsKernels;
  }
  try {
    return loadNativeKernels();
  } catch (error) {
    if (setting === 'required') throw error;
    nativeKernelsUnavailable = (error as Error).message;
    return jsKernels;
  }
}

/** The kernels classification uses in this process. */
export const kernels: ClassifyKernels = chooseKernels();

/** The addon's screening kernel (no TypeScript twin: see scorers/native-scorer.ts). */
export interface NativeScreening {
  screenChunkSupported(): boolean;
  screenChunk(
    species: Float32Array,
    queries: Float32Array,
    dim: number,
    offset: number,
    threads: number,
    chunkMax: Float32Array,
    weights: Float32Array,
    topWeights: Float32Array,
    topRows: Int32Array,
    minWeights: Float32Array,
  ): void;
}

/** The screening kernel of the loaded native addon, or undefined when classification runs its TypeScript kernels. */
export function nativeScreening(): NativeScreening | undefined {
  return kernels.name === 'native' ? (kernels as unknown as NativeScreening) : undefined;
}

