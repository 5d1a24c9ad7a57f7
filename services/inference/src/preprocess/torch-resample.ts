/**
 * A port of torch.nn.functional.interpolate(mode='bilinear', align_corners=False, antialias=True) on a
 * float CHW tensor (aten/src/ATen/native/cpu/UpSampleKernel.cpp, `_compute_weights_aa` with the
 * triangle filter, torch 1.13 through 2.x): separable, width first then height, filter support scaled
 * by the reduction factor, weights normalised per output sample. This is what torchvision's
 * `Resize((224, 224), antialias=True)` does to the tensor pybioclip builds with ToTensor().
 * Arithmetic is float64 here and float32 in torch; the difference is below 1e-6.
 */

export interface PlanarImage {
  width: number;
  height: number;
  channels: number;
  /** Channel planes, each row-major. */
  data: Float32Array;
}

interface Weights {
  kernelSize: number;
  start: Int32Array;
  count: Int32Array;
  weights: Float64Array;
}

const f32 = Math.fround;

/** HelperInterpLinear::aa_filter, evaluated in float32 like torch. */
function triangle(x: number): number {
  x = f32(x);
  if (x < 0) x = -x;
  return x < 1 ? f32(1 - x) : 0;
}

/**
 * `_compute_weights_aa` for the triangle filter. torch does this in the input's scalar type (float32),
 * and float32 positions far from the origin shift the weights by up to ~1e-5, so every step is
 * rounded to float32 as the C++ does (a float operand meeting a double literal is computed in double).
 */
function computeWeights(inSize: number, outSize: number): Weights {
  const scale = f32(inSize / outSize);
  const support = scale >= 1 ? f32(1 * scale) : 1; // (interp_size * 0.5) * scale, interp_size = 2
  const invScale = scale >= 1 ? f32(1 / scale) : 1;
  const kernelSize = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * kernelSize);
  for (let i = 0; i < outSize; i++) {
    const center = f32(scale * (i + 0.5));
    const xmin = Math.max(Math.trunc(f32(center - support) + 0.5), 0);
    const xsize = Math.min(Math.trunc(f32(center + support) + 0.5), inSize) - xmin;
    let total = 0;
    for (let j = 0; j < xsize; j++) {
      const w = triangle((f32(f32(j + xmin) - center) + 0.5) * invScale);
      weights[i * kernelSize + j] = w;
      total = f32(total + w);
    }
    if (total !== 0) for (let j = 0; j < xsize; j++) weights[i * kernelSize + j] = f32(weights[i * kernelSize + j] / total);
    start[i] = xmin;
    count[i] = xsize;
  }
  return { kernelSize, start, count, weights };
}

function resizeWidth(src: PlanarImage, outWidth: number): PlanarImage {
  const w = computeWeights(src.width, outWidth);
  const out = new Float32Array(src.channels * src.height * outWidth);
  for (let row = 0; row < src.channels * src.height; row++) {
    const rowIn = row * src.width;
    const rowOut = row * outWidth;
    for (let x = 0; x < outWidth; x++) {
      const base = x * w.kernelSize;
      const xmin = w.start[x];
      let sum = 0;
      for (let t = 0; t < w.count[x]; t++) sum = f32(sum + f32(src.data[rowIn + xmin + t] * w.weights[base + t]));
      out[rowOut + x] = sum;
    }
  }
  return { width: outWidth, height: src.height, channels: src.channels, data: out };
}

function resizeHeight(src: PlanarImage, outHeight: number): PlanarImage {
  const w = computeWeights(src.height, outHeight);
  const { width } = src;
  const out = new Float32Array(src.channels * outHeight * width);
  for (let c = 0; c < src.channels; c++) {
    const planeIn = c * src.height * width;
    const planeOut = c * outHeight * width;
    for (let y = 0; y < outHeight; y++) {
      const base = y * w.kernelSize;
      const ymin = w.start[y];
      for (let x = 0; x < width; x++) {
        let sum = 0;
        for (let t = 0; t < w.count[y]; t++) {
          sum = f32(sum + f32(src.data[planeIn + (ymin + t) * width + x] * w.weights[base + t]));
        }
        out[planeOut + y * width + x] = sum;
      }
    }
  }
  return { width, height: outHeight, channels: src.channels, data: out };
}

export function torchBilinearAntialias(src: PlanarImage, outWidth: number, outHeight: number): PlanarImage {
  let image = src;
  if (outWidth !== image.width) image = resizeWidth(image, outWidth);
  if (outHeight !== image.height) image = resizeHeight(image, outHeight);
  return image === src ? { ...src, data: src.data.slice() } : image;
}
