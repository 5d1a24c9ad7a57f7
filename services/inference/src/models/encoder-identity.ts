import path from 'node:path';

import type { InferenceConfig } from '../config.ts';
import type { EncoderRole } from './manifest.schema.ts';
import { chooseEncoderFile, type LoadedModel } from './model-host.ts';

/**
 * sha256 (from the verified manifest) of the encoder file a loaded model runs for `role`: what embeddings made with it
 * depend on, so caches of text embeddings are keyed by it.
 */
export function encoderSha256(loaded: LoadedModel, role: EncoderRole, precision: InferenceConfig['precision']): string {
  const pkg = loaded.package;
  const usesCuda = loaded.providers[role === 'image_encoder' ? 'image' : 'text'].includes('cuda');
  const file = chooseEncoderFile(pkg, role, precision, usesCuda);
  const entry = pkg.manifest.files.find((f) => path.join(pkg.dir, f.path) === file);
  if (!entry) throw new Error(`${role} ${file} is not listed in the manifest`);
  return entry.sha256;
}
