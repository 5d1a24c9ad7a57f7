import type { ModelInfo } from '../client.ts';

/** What a command shows about a stand-in model's output; undefined for a real model. */
export function standInNotice(model: ModelInfo, output: 'embeddings' | 'predictions'): string | undefined {
  if (!model.isStandIn) return undefined;
  const consequence =
    output === 'predictions' ? 'its predictions are NOT identifications and carry no biological meaning' : 'its embeddings carry no biological meaning';
  return `STAND-IN model ${model.name}@${model.version} (random weights, NOT BioCLIP 2): ${consequence}.`;
}
