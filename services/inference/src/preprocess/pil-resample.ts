/**
 * A port of Pillow's Image.resize for 8-bit images (libImaging/Resample.c and the NEAREST branch of
 * Geometry.c, Pillow 9.x, unchanged in 10/11), so open_clip's PIL-side Resize can be reproduced exactly:
 * separable convolution, horizontal pass first, filter support scaled by the reduction factor
 * (antialiasing), coefficients in 22-bit fixed point, each pass rounded and clipped back to 8 bits.
 */

export interface Image8 {
  width: number;
  height: number;
  channels: number;
  /** Interleaved samples, row-major. */
  data: Uint8Array;
}

interface Filter {
  support: number;
  weight(x: number): number;
}

/** Keys' cubic convolution with a = -0.5 (Pillow's BICUBIC). */
export const PIL_BICUBIC: Filter = {
  support: 2,
  weight(x) {
    const a = -0.5;
    if (x < 0) x = -x;
    if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
    if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
    return 0;
  },
};

export const PIL_BILINEAR: Filter = {
  support: 1,
  weight(x) {
    if (x < 0) x = -x;
    return x < 1 ? 1 - x : 0;
  },
};

const PRECISION_BITS = 32 - 8 - 2;

/** Coefficients for output samples [first, first + start.length) of a resize to `outSize`. */
interface Coefficients {
  /** Taps per output sample (stride of `weights`). */
  kernelSize: number;
  /** First input index per output sample. */
  start: Int32Array;
  /** Number of input samples used per output sample. */
  count: Int32Array;
  /** Fixed-point weights, `kernelSize` per output sample. */
  weights: Int32Array;
}

/**
 * Pillow's precompute_coeffs + normalize_coeffs_8bpc, for output samples [first, first + length) only:
 * each sample's coefficients depend on its own index alone, and the crop keeps 224 of them.
 */
function precomputeCoefficients(inSize: number, outSize: number, filter: Filter, first: number, length: number): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filter.support * filterScale;
  const kernelSize = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(length);
  const count = new Int32Array(length);
  const weights = new Int32Array(length * kernelSize);
  const taps = new Float64Array(kernelSize);
  const inverseFilterScale = 1 / filterScale;

  for (let out = 0; out < length; out++) {
    const center = (first + out + 0.5) * scale;
    // C's (int) cast truncates toward zero; negative values are clamped to 0 right after anyway.
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let total = 0;
    for (let x = 0; x < xmax; x++) {
      const w = filter.weight((x + xmin - center + 0.5) * inverseFilterScale);
      taps[x] = w;
      total += w;
    }
    for (let x = 0; x < xmax; x++) {
      const w = total !== 0 ? taps[x] / total : taps[x];
      // Round half away from zero, as Pillow's normalize_coeffs_8bpc does.
      weights[out * kernelSize + x] = w < 0
        ? Math.trunc(-0.5 + w * (1 << PRECISION_BITS))
        : Math.trunc(0.5 + w * (1 << PRECISION_BITS));
    }
    start[out] = xmin;
    count[out] = xmax;
  }
  return { kernelSize, start, count, weights };
}

const HALF = 1 << (PRECISION_BITS - 1);
const OVERFLOW = (1 << PRECISION_BITS) * 256;

function clip8(sum: number): number {
  if (sum >= OVERFLOW) return 255;
  if (sum <= 0) return 0;
  return sum >> PRECISION_BITS;
}

/** The part of the resized image to compute; everything outside it would be cropped away anyway. */
export interface Window {
  left: number;
  top: number;
  width: number;
  height: number;
}

function resampleHorizontal(src: Image8, window: Window, firstRow: number, rows: number, k: Coefficients): Image8 {
  const { channels, width } = src;
  const outWidth = window.width;
  const out = new Uint8Array(outWidth * rows * channels);
  for (let y = 0; y < rows; y++) {
    const rowIn = (y + firstRow) * width * channels;
    const rowOut = y * outWidth * channels;
    for (let x = 0; x < outWidth; x++) {
      const base = x * k.kernelSize;
      const xmin = k.start[x];
      const n = k.count[x];
      for (let c = 0; c < channels; c++) {
        let sum = HALF;
        let index = rowIn + xmin * channels + c;
        for (let t = 0; t < n; t++, index += channels) sum += src.data[index] * k.weights[base + t];
        out[rowOut + x * channels + c] = clip8(sum);
      }
    }
  }
  return { width: outWidth, height: rows, channels, data: out };
}

function resampleVertical(src: Image8, window: Window, rowOffset: number, k: Coefficients): Image8 {
  const { channels, width } = src;
  const stride = width * channels;
  const out = new Uint8Array(window.height * stride);
  for (let y = 0; y < window.height; y++) {
    const base = y * k.kernelSize;
    const ymin = k.start[y] - rowOffset;
    const n = k.count[y];
    for (let i = 0; i < stride; i++) {
      let sum = HALF;
      let index = ymin * stride + i;
      for (let t = 0; t < n; t++, index += stride) sum += src.data[index] * k.weights[base + t];
      out[y * stride + i] = clip8(sum);
    }
  }
  return { width, height: window.height, channels, data: out };
}

/** Rows [top, top + height) and columns [left, left + width) of an image. */
export function cropImage8(image: Image8, window: Window): Image8 {
  const { channels } = image;
  const { left, top, width, height } = window;
  const out = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    const from = ((top + y) * image.width + left) * channels;
    out.set(image.data.subarray(from, from + width * channels), y * width * channels);
  }
  return { width, height, channels, data: out };
}

/**
 * Pillow Image.resize((outWidth, outHeight), BICUBIC | BILINEAR) for an 8-bit image with any channel
 * count, computing only `window` of the result (identical to resizing fully and cropping).
 */
export function pilResample(src: Image8, outWidth: number, outHeight: number, filter: Filter,
  window: Window = { left: 0, top: 0, width: outWidth, height: outHeight }): Image8 {
  const needHorizontal = outWidth !== src.width;
  const needVertical = outHeight !== src.height;

  let firstRow = window.top;
  let lastRow = window.top + window.height;
  let vertical: Coefficients | undefined;
  if (needVertical) {
    vertical = precomputeCoefficients(src.height, outHeight, filter, window.top, window.height);
    // The horizontal pass only needs the source rows the vertical pass will read.
    firstRow = vertical.start[0];
    lastRow = vertical.start[window.height - 1] + vertical.count[window.height - 1];
  }

  const rows = needHorizontal
    ? resampleHorizontal(src, window, firstRow, lastRow - firstRow,
      precomputeCoefficients(src.width, outWidth, filter, window.left, window.width))
    : cropImage8(src, { left: window.left, top: firstRow, width: window.width, height: lastRow - firstRow });
  if (!vertical) return rows;
  return resampleVertical(rows, window, firstRow, vertical);
}

/**
 * Pillow's NEAREST resize (ImagingScaleAffine): source index = trunc(scale * 0.5 + x * scale), with the
 * position accumulated by repeated addition exactly as Pillow does, so rounding matches at boundaries.
 */
export function pilResampleNearest(src: Image8, outWidth: number, outHeight: number,
  window: Window = { left: 0, top: 0, width: outWidth, height: outHeight }): Image8 {
  const { channels } = src;
  const sourceColumn = nearestIndices(src.width, outWidth, window.left, window.width);
  const sourceRow = nearestIndices(src.height, outHeight, window.top, window.height);
  const out = new Uint8Array(window.width * window.height * channels);
  for (let y = 0; y < window.height; y++) {
    const rowIn = sourceRow[y] * src.width * channels;
    for (let x = 0; x < window.width; x++) {
      const from = rowIn + sourceColumn[x] * channels;
      const to = (y * window.width + x) * channels;
      for (let c = 0; c < channels; c++) out[to + c] = src.data[from + c];
    }
  }
  return { width: window.width, height: window.height, channels, data: out };
}

/** Source indices for outputs [first, first + length); the position must be accumulated from 0 to round like Pillow. */
function nearestIndices(inSize: number, outSize: number, first: number, length: number): Int32Array {
  const scale = inSize / outSize;
  const indices = new Int32Array(length);
  let position = scale * 0.5;
  for (let i = 0; i < first + length; i++) {
    if (i >= first) indices[i - first] = Math.min(Math.trunc(position), inSize - 1);
    position += scale;
  }
  return indices;
}
