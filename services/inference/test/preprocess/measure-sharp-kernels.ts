/**
 * Dev script (not a test): how far plain sharp resizing lands from the reference tensors, per kernel,
 * next to Arbor's port of the reference resamplers. Prints the markdown tables kept in
 * src/preprocess/README.md.
 *   npx tsx services/inference/test/preprocess/measure-sharp-kernels.ts
 */
import sharp from 'sharp';
import { CLIP_MEAN, CLIP_STD, INPUT_SIZE, preprocessImage } from '../../src/preprocess/index.ts';
import { centreCropOffset, shortestSideResize } from '../../src/preprocess/geometry.ts';
import { difference, inputBytes, manifest, referenceTensor, type Difference, type ReferenceCase } from './reference-fixtures.ts';

const KERNELS = ['nearest', 'linear', 'cubic', 'mitchell', 'lanczos2', 'lanczos3', 'mks2013', 'mks2021'] as const;
type Kernel = (typeof KERNELS)[number];

async function sharpCandidate(c: ReferenceCase, kernel: Kernel, fastShrinkOnLoad: boolean): Promise<Float32Array> {
  const bytes = inputBytes(c.image);
  const options = { ignoreIcc: true, autoOrient: c.applyExifOrientation };
  const meta = await sharp(bytes, options).metadata();
  const { width, height } = c.applyExifOrientation ? meta.autoOrient : meta;
  let pipeline = sharp(bytes, options).toColourspace('srgb');
  if (c.mode === 'open_clip') {
    const target = shortestSideResize(width, height, INPUT_SIZE);
    pipeline = sharp(await pipeline.resize(target.width, target.height, { fit: 'fill', kernel, fastShrinkOnLoad })
      .raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true }).then(({ data, info }) =>
        sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } })
          .extract({ left: centreCropOffset(info.width, INPUT_SIZE), top: centreCropOffset(info.height, INPUT_SIZE), width: INPUT_SIZE, height: INPUT_SIZE })
          .raw().toBuffer()), { raw: { width: INPUT_SIZE, height: INPUT_SIZE, channels: meta.hasAlpha ? 4 : 3 } });
  } else {
    pipeline = pipeline.resize(INPUT_SIZE, INPUT_SIZE, { fit: 'fill', kernel, fastShrinkOnLoad });
  }
  const { data, info } = await pipeline.removeAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  const plane = INPUT_SIZE * INPUT_SIZE;
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    for (let ch = 0; ch < 3; ch++) out[ch * plane + i] = (data[i * info.channels + ch] / 255 - CLIP_MEAN[ch]) / CLIP_STD[ch];
  }
  return out;
}

const fmt = (d: Difference) => `${d.maxAbs.toFixed(4)} / ${d.meanAbs.toFixed(4)}`;
const fmtArbor = (d: Difference) => `${d.maxAbs.toExponential(1)} / ${d.meanAbs.toExponential(1)}`;

const cases = manifest.cases.filter((c) => !(c.image === 'exif6' && c.applyExifOrientation !== (c.mode === 'open_clip')));
for (const mode of ['open_clip', 'pybioclip'] as const) {
  console.log(`\n### ${mode}: max-abs / mean-abs difference to the reference, normalised units\n`);
  console.log(`| image | Arbor (port) | ${KERNELS.join(' | ')} | best kernel, fastShrinkOnLoad on |`);
  console.log(`|---|---|${KERNELS.map(() => '---').join('|')}|---|`);
  const worst = new Map<Kernel, Difference>();
  for (const c of cases.filter((c) => c.mode === mode)) {
    const reference = referenceTensor(c);
    const arbor = difference((await preprocessImage(inputBytes(c.image), { mode, applyExifOrientation: c.applyExifOrientation })).data, reference);
    const row: string[] = [];
    let best: { kernel: Kernel; d: Difference } | undefined;
    for (const kernel of KERNELS) {
      const d = difference(await sharpCandidate(c, kernel, false), reference);
      row.push(fmt(d));
      const w = worst.get(kernel) ?? { maxAbs: 0, meanAbs: 0 };
      worst.set(kernel, { maxAbs: Math.max(w.maxAbs, d.maxAbs), meanAbs: Math.max(w.meanAbs, d.meanAbs) });
      if (!best || d.meanAbs < best.d.meanAbs) best = { kernel, d };
    }
    const fast = difference(await sharpCandidate(c, best!.kernel, true), reference);
    console.log(`| ${c.image} | ${fmtArbor(arbor)} | ${row.join(' | ')} | ${best!.kernel}: ${fmt(fast)} |`);
  }
  console.log(`| **worst** | | ${KERNELS.map((k) => fmt(worst.get(k)!)).join(' | ')} | |`);
}
