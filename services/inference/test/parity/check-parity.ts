// Prints ONNX Runtime (CPU) vs PyTorch parity for any model package, e.g. a random-init ViT-L/14
// exported under models/build (too large to commit, so it is checked by hand, not by a spec):
//   npx tsx services/inference/test/parity/check-parity.ts <packageDir> <fixtureDir> [fp32|fp16] [cpu|cuda]
import { performance } from 'node:perf_hooks';

import { loadParityFixture } from './parity-fixture.ts';
import { encoderFile, imageParity, openEncoder, readManifest, textParity, type Precision } from './parity-run.ts';

const [packageDir, fixtureDir, precisionArg = 'fp32', provider = 'cpu'] = process.argv.slice(2);
if (!packageDir || !fixtureDir || (precisionArg !== 'fp32' && precisionArg !== 'fp16') || (provider !== 'cpu' && provider !== 'cuda')) {
  console.error('usage: check-parity.ts <packageDir> <fixtureDir> [fp32|fp16] [cpu|cuda]');
  process.exit(2);
}
const precision: Precision = precisionArg;

const manifest = await readManifest(packageDir);
const loaded = await loadParityFixture(fixtureDir);
if (loaded.fixture.package.stateDictSha256 !== manifest.source.stateDictSha256) {
  console.error('fixtures were computed with other weights than this package');
  process.exit(1);
}
const fmt = (xs: number[], digits: number) => xs.map((x) => x.toFixed(digits)).join(' ');
for (const role of ['image_encoder', 'text_encoder'] as const) {
  const file = encoderFile(manifest, role, precision);
  let t0 = performance.now();
  // With cuda, ops the CUDA provider lacks fall back to cpu, as in the service.
  const session = await openEncoder(packageDir, file, provider === 'cuda' ? ['cuda', 'cpu'] : ['cpu']);
  const loadMs = performance.now() - t0;
  t0 = performance.now();
  const figures = role === 'image_encoder' ? await imageParity(session, manifest, loaded) : await textParity(session, manifest, loaded);
  const runMs = performance.now() - t0;
  await session.release();
  console.log(`${manifest.name} ${role} ${precision} ${provider} (${file}): session ${loadMs.toFixed(0)} ms, batch + singles ${runMs.toFixed(0)} ms`);
  console.log(`  cosine          ${fmt(figures.cosines, 7)}`);
  console.log(`  centred cosine  ${fmt(figures.centredCosines, 7)}`);
  console.log(`  relative error  ${figures.relativeErrors.map((e) => e.toExponential(2)).join(' ')}`);
  console.log(`  batch vs single ${figures.batchVsSingleRelativeError.toExponential(2)}`);
}
