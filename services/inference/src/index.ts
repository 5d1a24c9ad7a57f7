// Public surface of @arbor/inference. Importing this module loads ONNX Runtime and sharp (through preprocess and
// classify); a caller that only talks to the service should import '@arbor/inference/client.ts', which stays cheap.

// The typed client of the HTTP service and the wire types it shares with the server.
export * from './client.ts';

// Model packages: manifest validation with file sizes and sha256, and what responses say about the model.
export { loadModelPackage, modelInfoOf, STAND_IN_NOTICE, type ModelPackage } from './models/model-package.ts';
export { ModelManifestSchema, type ModelManifest, type EncoderRole, type Precision, type PackageFile } from './models/manifest.schema.ts';
export { ModelPackageError, ModelNotReadyError, ModelUnavailableError, type ModelPackageErrorCode } from './models/errors.ts';

// The CLIP BPE tokenizer (open_clip / BioCLIP 2 ids).
export * from './tokenizer/index.ts';

// Image preprocessing in the two named modes, 'open_clip' and 'pybioclip'.
export * from './preprocess/index.ts';

// pybioclip's classification over embeddings: species index, tree-of-life softmax with rollups, custom labels and
// bins, zero-shot label embeddings, and the reader of the official txt_emb_species files.
export * from './classify/index.ts';
