import {
  DEFAULT_APPLY_EXIF_ORIENTATION,
  DEFAULT_MAX_INPUT_BYTES,
  DEFAULT_MAX_INPUT_PIXELS,
  INPUT_SIZE,
  PREPROCESS_MODES,
  type PreprocessMode,
} from './constants.ts';
import { decodeImage } from './decode-image.ts';
import { ImagePreprocessError } from './errors.ts';
import { normalisePlanarInto, normaliseRgb8Into, openClipPixels, pybioclipPixels } from './pipelines.ts';

export interface PreprocessOptions {
  mode: PreprocessMode;
  /** Rotate/flip per the EXIF Orientation tag first. Default: true for open_clip, false for pybioclip. */
  applyExifOrientation?: boolean;
  /** Refuse images whose header declares more pixels than this (decompression-bomb guard). */
  maxInputPixels?: number;
  /** Refuse inputs larger than this many bytes. */
  maxInputBytes?: number;
}

/** A float32 tensor in NCHW order. */
export interface ImageTensor {
  /** Backed by its own ArrayBuffer, so it can be transferred to or from a worker thread. */
  data: Float32Array<ArrayBuffer>;
  dims: [number, 3, number, number];
}

const TENSOR_LENGTH = 3 * INPUT_SIZE * INPUT_SIZE;

function resolve(options: PreprocessOptions) {
  if (!PREPROCESS_MODES.includes(options.mode)) {
    throw new TypeError(`unknown preprocess mode ${String(options.mode)}; expected one of ${PREPROCESS_MODES.join(', ')}`);
  }
  return {
    mode: options.mode,
    applyExifOrientation: options.applyExifOrientation ?? DEFAULT_APPLY_EXIF_ORIENTATION[options.mode],
    maxInputPixels: options.maxInputPixels ?? DEFAULT_MAX_INPUT_PIXELS,
    maxInputBytes: options.maxInputBytes ?? DEFAULT_MAX_INPUT_BYTES,
  };
}

async function preprocessInto(out: Float32Array, offset: number, bytes: Uint8Array, options: ReturnType<typeof resolve>) {
  const decoded = await decodeImage(bytes, options);
  if (options.mode === 'open_clip') normaliseRgb8Into(out, offset, openClipPixels(decoded));
  else normalisePlanarInto(out, offset, pybioclipPixels(decoded));
}

/** One image → normalised float32 tensor [1, 3, 224, 224]. Throws ImagePreprocessError on bad input. */
export async function preprocessImage(bytes: Uint8Array, options: PreprocessOptions): Promise<ImageTensor> {
  const data = new Float32Array(TENSOR_LENGTH);
  await preprocessImageInto(bytes, options, data);
  return { data, dims: [1, 3, INPUT_SIZE, INPUT_SIZE] };
}

/**
 * As preprocessImage, written into `out` (3 × 224 × 224 floats, e.g. a slot of shared memory) instead of
 * a new buffer. On an ImagePreprocessError `out` may hold part of the image.
 */
export async function preprocessImageInto(bytes: Uint8Array, options: PreprocessOptions, out: Float32Array<ArrayBufferLike>): Promise<void> {
  if (out.length !== TENSOR_LENGTH) throw new RangeError(`out must hold ${TENSOR_LENGTH} floats (3 × ${INPUT_SIZE} × ${INPUT_SIZE}), not ${out.length}`);
  await preprocessInto(out, 0, bytes, resolve(options));
}

/**
 * Several images → one contiguous float32 tensor [N, 3, 224, 224], in input order. Images are decoded
 * one after another so peak memory stays at one decoded image. The first bad image aborts the batch
 * with an ImagePreprocessError whose `index` names it.
 */
export async function preprocessBatch(images: readonly Uint8Array[], options: PreprocessOptions): Promise<ImageTensor> {
  const resolved = resolve(options);
  const data = new Float32Array(images.length * TENSOR_LENGTH);
  for (let i = 0; i < images.length; i++) {
    try {
      await preprocessInto(data, i * TENSOR_LENGTH, images[i], resolved);
    } catch (error) {
      throw error instanceof ImagePreprocessError ? error.withIndex(i) : error;
    }
  }
  return { data, dims: [images.length, 3, INPUT_SIZE, INPUT_SIZE] };
}
