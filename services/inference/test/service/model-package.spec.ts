// loadModelPackage: the committed stand-in validates; each kind of damage is refused with a named problem.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { ModelPackageError, type ModelPackageErrorCode } from '../../src/models/errors.ts';
import { loadModelPackage, STAND_IN_NOTICE } from '../../src/models/model-package.ts';
import { REPO_ROOT, STANDIN_DIR } from './support.ts';

describe('the committed stand-in package', () => {
  it('loads, and says it is a stand-in', async () => {
    const pkg = await loadModelPackage(STANDIN_DIR);
    expect(pkg.info).toEqual({ name: 'arbor-standin', version: '1', isStandIn: true, notice: STAND_IN_NOTICE });
    expect(pkg.manifest.embeddingDim).toBe(768);
    expect(pkg.encoderPath('image_encoder', 'fp32')).toBe(path.join(STANDIN_DIR, 'image_encoder.onnx'));
    expect(pkg.encoderPath('image_encoder', 'fp16')).toBeUndefined();
    expect(pkg.encoderPath('image_encoder', 'int8')).toBe(path.join(STANDIN_DIR, 'image_encoder.int8.onnx'));
    expect(pkg.encoderPath('text_encoder', 'int8')).toBeUndefined();
    expect(pkg.tokenizerPath).toBe(path.join(REPO_ROOT, 'models', 'tokenizer', 'bpe_simple_vocab_16e6.txt.gz'));
  });
});

describe('a damaged package', () => {
  // A copy of the stand-in laid out like models/: <root>/pkg next to <root>/tokenizer.
  let root: string;
  let dir: string;
  let manifest: Record<string, unknown> & { files: Record<string, unknown>[] };

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'arbor-package-'));
    dir = path.join(root, 'pkg');
    await cp(STANDIN_DIR, dir, { recursive: true });
    await cp(path.join(REPO_ROOT, 'models', 'tokenizer'), path.join(root, 'tokenizer'), { recursive: true });
    manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8'));
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const writeManifest = (value: unknown) => writeFile(path.join(dir, 'manifest.json'), JSON.stringify(value));

  async function refusal(): Promise<ModelPackageError> {
    const error = await loadModelPackage(dir).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ModelPackageError);
    return error as ModelPackageError;
  }

  async function expectRefused(code: ModelPackageErrorCode, message: RegExp): Promise<void> {
    const error = await refusal();
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
    expect(error.message).toContain(dir);
  }

  it('loads as copied (the fixture itself is sound)', async () => {
    await expect(loadModelPackage(dir)).resolves.toMatchObject({ info: { name: 'arbor-standin' } });
  });

  it('without manifest.json', async () => {
    await rm(path.join(dir, 'manifest.json'));
    await expectRefused('MANIFEST_MISSING', /cannot read manifest\.json/);
  });

  it('with a manifest that is not JSON', async () => {
    await writeFile(path.join(dir, 'manifest.json'), '{ "name": ');
    await expectRefused('MANIFEST_NOT_JSON', /not JSON/);
  });

  it('with fields missing or of the wrong type, naming each', async () => {
    const { isStandIn: _dropped, ...rest } = manifest;
    await writeManifest({ ...rest, embeddingDim: '768' });
    await expectRefused('MANIFEST_INVALID', /isStandIn: .*embeddingDim: |embeddingDim: .*isStandIn: /);
  });

  it('with preprocessing this service does not implement', async () => {
    await writeManifest({ ...manifest, imageSize: 336, preprocessing: { ...(manifest.preprocessing as object), mean: [0.5, 0.5, 0.5] } });
    await expectRefused('MANIFEST_INVALID', /imageSize: .*224 px.*preprocessing\.mean: must be the CLIP mean/);
  });

  it('with a bad sha256 or a path leaving the package', async () => {
    const files = manifest.files.map((file, i) => (i === 0 ? { ...file, sha256: 'abc', path: '../elsewhere.onnx' } : file));
    await writeManifest({ ...manifest, files });
    await expectRefused('MANIFEST_INVALID', /files\.0\.path: must be a relative path inside the package; files\.0\.sha256: /);
  });

  it('with a precision this service does not know', async () => {
    const files = manifest.files.map((file) => (file.path === 'image_encoder.int8.onnx' ? { ...file, precision: 'int4' } : file));
    await writeManifest({ ...manifest, files });
    await expectRefused('MANIFEST_INVALID', /files\.1\.precision: .*"fp32"\|"fp16"\|"int8"/);
  });

  it('with two encoders of the same role and precision', async () => {
    // Which of the two MODEL_PRECISION=int8 would run is undefined, so the package is refused.
    const int8 = manifest.files.find((file) => file.path === 'image_encoder.int8.onnx')!;
    await cp(path.join(dir, 'image_encoder.int8.onnx'), path.join(dir, 'image_encoder.int8-copy.onnx'));
    await writeManifest({ ...manifest, files: [...manifest.files, { ...int8, path: 'image_encoder.int8-copy.onnx' }] });
    await expectRefused('MANIFEST_INVALID', /files\.3\.precision: lists a second int8 image_encoder/);
  });

  it('with an int8 encoder whose bytes differ from the manifest', async () => {
    const file = path.join(dir, 'image_encoder.int8.onnx');
    const bytes = await readFile(file);
    bytes[bytes.length - 1] ^= 0xff;
    await writeFile(file, bytes);
    await expectRefused('FILE_HASH_MISMATCH', /image_encoder\.int8\.onnx has sha256 [0-9a-f]{64}, manifest\.json says 71ffc743/);
  });

  it('without a text encoder', async () => {
    await writeManifest({ ...manifest, files: manifest.files.filter((file) => file.role !== 'text_encoder') });
    await expectRefused('MANIFEST_INVALID', /files: lists no text_encoder/);
  });

  it('with a listed file missing', async () => {
    await rm(path.join(dir, 'text_encoder.onnx'));
    await expectRefused('FILE_MISSING', /text_encoder\.onnx is missing/);
  });

  it('with a file of the wrong size', async () => {
    const file = path.join(dir, 'image_encoder.onnx');
    await writeFile(file, Buffer.concat([await readFile(file), Buffer.from([0])]));
    const bytes = Number(manifest.files.find((f) => f.path === 'image_encoder.onnx')!.bytes);
    await expectRefused('FILE_SIZE_MISMATCH', new RegExp(`image_encoder\\.onnx has ${bytes + 1} bytes, manifest\\.json says ${bytes}$`));
  });

  it('with a file of the right size but other bytes', async () => {
    const file = path.join(dir, 'image_encoder.onnx');
    const bytes = await readFile(file);
    bytes[bytes.length - 1] ^= 0xff;
    await writeFile(file, bytes);
    const sha256 = String(manifest.files.find((f) => f.path === 'image_encoder.onnx')!.sha256);
    await expectRefused('FILE_HASH_MISMATCH', new RegExp(`image_encoder\\.onnx has sha256 [0-9a-f]{64}, manifest\\.json says ${sha256}`));
  });

  it('without its tokenizer vocabulary, or with another one', async () => {
    await writeFile(path.join(root, 'tokenizer', 'bpe_simple_vocab_16e6.txt.gz'), 'not the vocabulary');
    await expectRefused('FILE_HASH_MISMATCH', /tokenizer file \.\.\/tokenizer\/bpe_simple_vocab_16e6\.txt\.gz has sha256/);
    await rm(path.join(root, 'tokenizer'), { recursive: true });
    await expectRefused('FILE_MISSING', /tokenizer file .* is missing/);
  });
});
