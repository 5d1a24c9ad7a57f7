import { describe, expect, it } from 'vitest';
import { DEFAULT_APPLY_EXIF_ORIENTATION, preprocessImage } from '../../src/preprocess/index.ts';
import { difference, inputBytes } from './reference-fixtures.ts';
import { rgbAt, SLOW_MACHINE_TIMEOUT_MS } from './tensor-access.ts';

// exif6.jpg is stored 320×200 with a yellow block in the stored top-left corner (80×50) and EXIF
// Orientation 6 (rotate 90° clockwise to display), so the block belongs at the displayed top-right.
const bytes = inputBytes('exif6');
const isYellow = ([r, g, b]: number[]) => r > 0.9 && g > 0.9 && b < 0.1;

describe('EXIF orientation', { timeout: SLOW_MACHINE_TIMEOUT_MS }, () => {
  it('defaults to the references: applied for open_clip, ignored for pybioclip', () => {
    expect(DEFAULT_APPLY_EXIF_ORIENTATION).toEqual({ open_clip: true, pybioclip: false });
  });

  it('open_clip applies it by default: the marker lands top-right', async () => {
    const { data } = await preprocessImage(bytes, { mode: 'open_clip' });
    // Displayed 200×320 → resized 224×358 → crop rows 67..290: the block keeps its top 22 rows at x ≥ 168.
    expect(isYellow(rgbAt(data, 210, 8))).toBe(true);
    expect(isYellow(rgbAt(data, 10, 8))).toBe(false);
  });

  it('pybioclip ignores it by default: the marker stays top-left', async () => {
    const { data } = await preprocessImage(bytes, { mode: 'pybioclip' });
    expect(isYellow(rgbAt(data, 20, 20))).toBe(true);
    expect(isYellow(rgbAt(data, 210, 20))).toBe(false);
  });

  it('the option overrides the default in both directions', async () => {
    const pybioclipRotated = await preprocessImage(bytes, { mode: 'pybioclip', applyExifOrientation: true });
    expect(isYellow(rgbAt(pybioclipRotated.data, 210, 20))).toBe(true);
    expect(isYellow(rgbAt(pybioclipRotated.data, 20, 20))).toBe(false);

    const openClipDefault = await preprocessImage(bytes, { mode: 'open_clip' });
    const openClipUnrotated = await preprocessImage(bytes, { mode: 'open_clip', applyExifOrientation: false });
    expect(difference(openClipUnrotated.data, openClipDefault.data).meanAbs).toBeGreaterThan(0.1);
    expect(isYellow(rgbAt(openClipUnrotated.data, 210, 8))).toBe(false);
  });

  it('an image without the tag is unaffected by the option', async () => {
    const cat = inputBytes('mycat');
    const on = await preprocessImage(cat, { mode: 'pybioclip', applyExifOrientation: true });
    const off = await preprocessImage(cat, { mode: 'pybioclip', applyExifOrientation: false });
    expect(difference(on.data, off.data).maxAbs).toBe(0);
  });
});
