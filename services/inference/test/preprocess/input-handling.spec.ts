import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { preprocessImage } from '../../src/preprocess/index.ts';
import { inputBytes } from './reference-fixtures.ts';
import { rgbAt, SLOW_MACHINE_TIMEOUT_MS } from './tensor-access.ts';

// What the reference semantics mean for unusual inputs, spelled out. The exact values are checked
// against the Python references in reference-parity.spec.ts; these tests say why they look as they do.
describe('input handling', { timeout: SLOW_MACHINE_TIMEOUT_MS }, () => {
  it('alpha is dropped, not composited: pybioclip keeps the colour hidden under alpha 0', async () => {
    // rgba.png: x < 100 is fully transparent, magenta above y = 150 and green below.
    const { data } = await preprocessImage(inputBytes('rgba'), { mode: 'pybioclip' });
    const [r, g, b] = rgbAt(data, 20, 40);
    expect(r).toBeGreaterThan(0.99);
    expect(g).toBeLessThan(0.01);
    expect(b).toBeGreaterThan(0.99);
  });

  it('open_clip resizes RGBA premultiplied (as Pillow does), so fully transparent areas turn black', async () => {
    const { data } = await preprocessImage(inputBytes('rgba'), { mode: 'open_clip' });
    for (const v of rgbAt(data, 10, 40)) expect(v).toBeLessThan(0.01);
  });

  it('greyscale becomes three equal channels', async () => {
    for (const mode of ['open_clip', 'pybioclip'] as const) {
      const { data } = await preprocessImage(inputBytes('grey'), { mode });
      for (const [x, y] of [[0, 0], [100, 57], [223, 223]]) {
        const [r, g, b] = rgbAt(data, x, y);
        expect(Math.abs(r - g)).toBeLessThan(1e-6);
        expect(Math.abs(r - b)).toBeLessThan(1e-6);
      }
    }
  });

  it('16-bit greyscale is scaled to 8 bits (Pillow would clip it to white)', async () => {
    const { data } = await preprocessImage(inputBytes('grey16'), { mode: 'open_clip' });
    let sum = 0;
    for (let y = 0; y < 224; y += 8) for (let x = 0; x < 224; x += 8) sum += rgbAt(data, x, y)[0];
    expect(sum / (28 * 28)).toBeLessThan(0.8);
  });

  it('a 1×1 image fills the whole tensor with its colour', async () => {
    for (const mode of ['open_clip', 'pybioclip'] as const) {
      const { data } = await preprocessImage(inputBytes('tiny'), { mode });
      for (const [x, y] of [[0, 0], [111, 200], [223, 223]]) {
        const [r, g, b] = rgbAt(data, x, y);
        expect(r * 255).toBeCloseTo(200, 4);
        expect(g * 255).toBeCloseTo(120, 4);
        expect(b * 255).toBeCloseTo(40, 4);
      }
    }
  });

  it('an image whose short side is already 224 is only cropped (torchvision skips the resize)', async () => {
    const width = 224;
    const height = 261; // crop offset round(37 / 2) = 18 (18.5 rounds to even)
    const pixels = new Uint8Array(width * height * 3).map((_, i) => (i * 2654435761) >>> 24);
    const png = await sharp(pixels, { raw: { width, height, channels: 3 } }).png().toBuffer();
    const { data } = await preprocessImage(png, { mode: 'open_clip' });
    for (const [x, y] of [[0, 0], [57, 100], [223, 223]]) {
      const source = ((y + 18) * width + x) * 3;
      const rgb = rgbAt(data, x, y).map((v) => Math.round(v * 255));
      expect(rgb).toEqual([pixels[source], pixels[source + 1], pixels[source + 2]]);
    }
  });
});
