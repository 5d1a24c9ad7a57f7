import { convertToRgb, premultiplyAlpha, unpremultiplyAlpha } from './colour.ts';
import { CLIP_MEAN, CLIP_STD, INPUT_SIZE } from './constants.ts';
import type { DecodedImage } from './decode-image.ts';
import { centreCropOffset, shortestSideResize } from './geometry.ts';
import { cropImage8, PIL_BICUBIC, pilResample, pilResampleNearest, type Image8 } from './pil-resample.ts';
import { torchBilinearAntialias, type PlanarImage } from './torch-resample.ts';

/**
 * open_clip eval transform up to ToTensor: Resize(224, BICUBIC) on the PIL image in its own mode,
 * CenterCrop(224), convert('RGB'). Returns 224×224 RGB.
 */
export function openClipPixels(image: DecodedImage): Image8 {
  const target = shortestSideResize(image.width, image.height, INPUT_SIZE);
  const window = {
    left: centreCropOffset(target.width, INPUT_SIZE),
    top: centreCropOffset(target.height, INPUT_SIZE),
    width: INPUT_SIZE,
    height: INPUT_SIZE,
  };
  let cropped: Image8;
  if (target.width === image.width && target.height === image.height) {
    cropped = cropImage8(image, window); // torchvision's Resize returns the image untouched
  } else if (image.mode === 'P' || image.mode === '1') {
    // Pillow ignores the requested filter for palette and bilevel images.
    cropped = pilResampleNearest(image, target.width, target.height, window);
  } else if (image.mode === 'RGBA' || image.mode === 'LA') {
    cropped = unpremultiplyAlpha(pilResample(premultiplyAlpha(image), target.width, target.height, PIL_BICUBIC, window));
  } else {
    cropped = pilResample(image, target.width, target.height, PIL_BICUBIC, window);
  }
  return convertToRgb(cropped, image.mode);
}

/**
 * pybioclip's preprocess_img up to Normalize: convert('RGB'), ToTensor (÷255, float32), then
 * Resize((224, 224), antialias=True), i.e. bilinear with antialias on the float tensor (a squash, no crop).
 */
export function pybioclipPixels(image: DecodedImage): PlanarImage {
  const rgb = convertToRgb(image, image.mode);
  const pixels = rgb.width * rgb.height;
  const planar = new Float32Array(3 * pixels);
  for (let p = 0; p < pixels; p++) {
    for (let c = 0; c < 3; c++) planar[c * pixels + p] = rgb.data[p * 3 + c] / 255;
  }
  return torchBilinearAntialias({ width: rgb.width, height: rgb.height, channels: 3, data: planar }, INPUT_SIZE, INPUT_SIZE);
}

const MEAN_F32 = CLIP_MEAN.map(Math.fround);
const STD_F32 = CLIP_STD.map(Math.fround);

/** torchvision Normalize in float32, written as CHW into `out` at `offset`. */
export function normaliseInto(out: Float32Array, offset: number, unit: (channel: number, index: number) => number): void {
  const plane = INPUT_SIZE * INPUT_SIZE;
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < plane; i++) {
      out[offset + c * plane + i] = Math.fround(Math.fround(unit(c, i) - MEAN_F32[c]) / STD_F32[c]);
    }
  }
}

export function normaliseRgb8Into(out: Float32Array, offset: number, rgb: Image8): void {
  normaliseInto(out, offset, (c, i) => Math.fround(rgb.data[i * 3 + c] / 255));
}

export function normalisePlanarInto(out: Float32Array, offset: number, planar: PlanarImage): void {
  const plane = planar.width * planar.height;
  normaliseInto(out, offset, (c, i) => planar.data[c * plane + i]);
}
