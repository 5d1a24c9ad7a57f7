import type { PilMode } from './decode-image.ts';
import type { Image8 } from './pil-resample.ts';

/** Pillow's MULDIV255: a * b / 255 rounded, in integers. */
function mulDiv255(a: number, b: number): number {
  const t = a * b + 128;
  return ((t >> 8) + t) >> 8;
}

/** Pillow convert('RGBa') / convert('La'): scale colour samples by alpha (the last channel). */
export function premultiplyAlpha(image: Image8): Image8 {
  const { channels, data } = image;
  const out = new Uint8Array(data.length);
  for (let p = 0; p < data.length; p += channels) {
    const alpha = data[p + channels - 1];
    for (let c = 0; c < channels - 1; c++) out[p + c] = mulDiv255(data[p + c], alpha);
    out[p + channels - 1] = alpha;
  }
  return { ...image, data: out };
}

/** Pillow convert('RGBA') from 'RGBa' (and 'LA' from 'La'): divide by alpha, truncating; alpha 0 and 255 pass through. */
export function unpremultiplyAlpha(image: Image8): Image8 {
  const { channels, data } = image;
  const out = new Uint8Array(data.length);
  for (let p = 0; p < data.length; p += channels) {
    const alpha = data[p + channels - 1];
    for (let c = 0; c < channels - 1; c++) {
      const v = data[p + c];
      out[p + c] = alpha === 0 || alpha === 255 ? v : Math.min(255, Math.trunc((255 * v) / alpha));
    }
    out[p + channels - 1] = alpha;
  }
  return { ...image, data: out };
}

/**
 * Pillow's Image.convert('RGB') for the modes we decode to: grey is replicated, alpha is dropped
 * without compositing onto any background, CMYK uses Pillow's naive formula (no ICC profile):
 * channel = (255 - K) - C * (255 - K) / 255.
 */
export function convertToRgb(image: Image8, mode: PilMode): Image8 {
  const { width, height, data, channels } = image;
  const pixels = width * height;
  const out = new Uint8Array(pixels * 3);
  for (let p = 0; p < pixels; p++) {
    const i = p * channels;
    const o = p * 3;
    switch (mode) {
      case 'L': case '1': case 'LA':
        out[o] = out[o + 1] = out[o + 2] = data[i];
        break;
      case 'RGB': case 'P': case 'RGBA':
        out[o] = data[i];
        out[o + 1] = data[i + 1];
        out[o + 2] = data[i + 2];
        break;
      case 'CMYK': {
        const notK = 255 - data[i + 3];
        for (let c = 0; c < 3; c++) out[o + c] = Math.max(0, notK - mulDiv255(data[i + c], notK));
        break;
      }
    }
  }
  return { width, height, channels: 3, data: out };
}
