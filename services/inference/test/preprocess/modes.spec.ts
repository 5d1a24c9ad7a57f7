import { describe, expect, it } from 'vitest';
import { preprocessImage } from '../../src/preprocess/index.ts';
import { difference, inputBytes, manifest, referenceTensor } from './reference-fixtures.ts';
import { SLOW_MACHINE_TIMEOUT_MS } from './tensor-access.ts';

const photos = manifest.inputs.filter((i) => i.what === 'real photo').map((i) => i.id);

describe('the two modes are different pipelines', { timeout: SLOW_MACHINE_TIMEOUT_MS }, () => {
  for (const id of photos) {
    it(`${id}: open_clip (crop, bicubic) and pybioclip (squash, bilinear) outputs differ measurably`, async () => {
      const openClip = await preprocessImage(inputBytes(id), { mode: 'open_clip' });
      const pybioclip = await preprocessImage(inputBytes(id), { mode: 'pybioclip' });
      // Measured: mean-abs 0.032 for the almost square cat (320×317, kernels differ only), 0.2 to 0.4 for
      // the 4:3 camera-trap frames (crop vs squash). Parity tolerances are below 5e-4.
      expect(difference(openClip.data, pybioclip.data).meanAbs).toBeGreaterThan(0.02);
    });
  }

  it('a mode mix-up would fail the parity tests by orders of magnitude', async () => {
    for (const c of manifest.cases.filter((c) => photos.includes(c.image))) {
      const other = c.mode === 'open_clip' ? 'pybioclip' : 'open_clip';
      const wrong = await preprocessImage(inputBytes(c.image), { mode: other, applyExifOrientation: c.applyExifOrientation });
      expect(difference(wrong.data, referenceTensor(c)).maxAbs, `${c.image} ${c.mode}`).toBeGreaterThan(0.5);
    }
  });

  it('rejects an unknown mode', async () => {
    // @ts-expect-error: deliberately outside PreprocessMode
    await expect(preprocessImage(inputBytes('mycat'), { mode: 'squash' })).rejects.toThrow(TypeError);
  });
});
