import sharp, { type Metadata, type OutputInfo, type SharpOptions } from 'sharp';
import { MAX_ASPECT_RATIO } from './constants.ts';
import { ImagePreprocessError } from './errors.ts';

/**
 * The Pillow mode the reference pipelines would see for this image. It decides how open_clip's resize
 * treats it (P and 1 are resized with NEAREST, RGBA and LA in premultiplied alpha) and how
 * convert('RGB') maps it (CMYK naively, alpha dropped without compositing).
 */
export type PilMode = 'L' | 'LA' | 'RGB' | 'RGBA' | 'CMYK' | 'P' | '1';

export interface DecodedImage {
  width: number;
  height: number;
  mode: PilMode;
  /** Interleaved 8-bit samples. L and 1: 1 channel; LA: 2; RGB and P (palette expanded): 3; RGBA, CMYK: 4. */
  channels: 1 | 2 | 3 | 4;
  data: Uint8Array;
}

export interface DecodeOptions {
  applyExifOrientation: boolean;
  maxInputPixels: number;
  maxInputBytes: number;
}

// SVG and PDF are documents, not photographs, and rasterising them is an attack surface we do not need.
const ACCEPTED_FORMATS = new Set(['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif', 'heif']);

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** PNG IHDR colour type and bit depth, which tell tRNS transparency apart from a real alpha channel. */
function readPngHeader(bytes: Uint8Array): { colourType: number; bitDepth: number } | undefined {
  if (bytes.length < 33 || PNG_SIGNATURE.some((b, i) => bytes[i] !== b)) return undefined;
  return { bitDepth: bytes[24], colourType: bytes[25] };
}

function pilModeOf(bytes: Uint8Array, metadata: Metadata): PilMode {
  const png = metadata.format === 'png' ? readPngHeader(bytes) : undefined;
  if (png) {
    switch (png.colourType) {
      case 0: return png.bitDepth === 1 ? '1' : 'L';
      case 2: return 'RGB';
      case 3: return 'P';
      case 4: return 'LA';
      case 6: return 'RGBA';
    }
  }
  if (metadata.isPalette) return 'P';
  if (metadata.space === 'cmyk') return 'CMYK';
  const grey = metadata.space === 'b-w' || metadata.space === 'grey16';
  if (grey) return metadata.hasAlpha ? 'LA' : 'L';
  return metadata.hasAlpha ? 'RGBA' : 'RGB';
}

function isGrey(mode: PilMode): boolean {
  return mode === 'L' || mode === 'LA' || mode === '1';
}

/** Channels Pillow keeps for a mode; sharp may deliver one more (alpha from PNG tRNS or GIF transparency). */
function wantedChannels(mode: PilMode): 1 | 2 | 3 | 4 {
  switch (mode) {
    case 'L': case '1': return 1;
    case 'LA': return 2;
    case 'RGB': case 'P': return 3;
    case 'RGBA': case 'CMYK': return 4;
  }
}

/** Keep the first `keep` channels of interleaved samples (drops tRNS-derived alpha, as Pillow does). */
function keepChannels(data: Uint8Array, have: number, keep: number): Uint8Array {
  if (have === keep) return data;
  const pixels = data.length / have;
  const out = new Uint8Array(pixels * keep);
  for (let p = 0; p < pixels; p++) {
    for (let c = 0; c < keep; c++) out[p * keep + c] = data[p * have + c];
  }
  return out;
}

function classifySharpError(error: unknown): ImagePreprocessError {
  const message = error instanceof Error ? error.message : String(error);
  if (/unsupported image format|Input Buffer is empty/i.test(message)) {
    return new ImagePreprocessError('UNSUPPORTED_IMAGE', `not a supported image: ${message}`, undefined, { cause: error });
  }
  if (/pixel limit/i.test(message)) {
    return new ImagePreprocessError('IMAGE_TOO_LARGE', message, undefined, { cause: error });
  }
  return new ImagePreprocessError('CORRUPT_IMAGE', `image data is malformed or truncated: ${message}`, undefined, {
    cause: error,
  });
}

/**
 * Decode to 8-bit samples the way Pillow's Image.open would present them, ready for either pipeline.
 * Embedded ICC profiles are ignored (Pillow ignores them too); 16-bit samples keep their high byte
 * (Pillow's rawmodes for 16-bit RGB do the same; for 16-bit greyscale Pillow clips at 255 instead,
 * which we deliberately do not copy); CMYK is returned raw so convert('RGB') can be reproduced.
 */
export async function decodeImage(bytes: Uint8Array, options: DecodeOptions): Promise<DecodedImage> {
  if (bytes.length === 0) throw new ImagePreprocessError('UNSUPPORTED_IMAGE', 'not a supported image: input is empty');
  if (bytes.length > options.maxInputBytes) {
    throw new ImagePreprocessError(
      'IMAGE_TOO_LARGE',
      `input is ${bytes.length} bytes, more than the limit of ${options.maxInputBytes}`,
    );
  }
  const sharpOptions: SharpOptions = {
    limitInputPixels: options.maxInputPixels,
    failOn: 'error',
    ignoreIcc: true,
    autoOrient: options.applyExifOrientation,
  };

  let metadata: Metadata;
  try {
    metadata = await sharp(bytes, sharpOptions).metadata();
  } catch (error) {
    throw classifySharpError(error);
  }
  if (!ACCEPTED_FORMATS.has(metadata.format)) {
    throw new ImagePreprocessError('UNSUPPORTED_IMAGE', `not a supported image: format ${metadata.format}`);
  }
  // sharp enforces limitInputPixels when decoding; checking the header here fails fast with our message.
  if (metadata.width * metadata.height > options.maxInputPixels) {
    throw new ImagePreprocessError(
      'IMAGE_TOO_LARGE',
      `image declares ${metadata.width}×${metadata.height} pixels, more than the limit of ${options.maxInputPixels}`,
    );
  }

  const aspectRatio = Math.max(metadata.width, metadata.height) / Math.min(metadata.width, metadata.height);
  if (!(aspectRatio <= MAX_ASPECT_RATIO)) {
    throw new ImagePreprocessError(
      'UNSUPPORTED_IMAGE',
      `image is ${metadata.width}×${metadata.height}, an aspect ratio beyond ${MAX_ASPECT_RATIO}:1`,
    );
  }

  const mode = pilModeOf(bytes, metadata);
  let pipeline = sharp(bytes, sharpOptions);
  if (mode === 'CMYK') pipeline = pipeline.pipelineColourspace('cmyk').toColourspace('cmyk');
  else pipeline = pipeline.toColourspace(isGrey(mode) ? 'b-w' : 'srgb');

  let decoded: { data: Buffer; info: OutputInfo };
  try {
    decoded = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw classifySharpError(error);
  }
  const channels = wantedChannels(mode);
  const { width, height } = decoded.info;
  if (decoded.info.channels < channels) {
    throw new ImagePreprocessError(
      'CORRUPT_IMAGE',
      `decoder returned ${decoded.info.channels} channels for a ${mode} image`,
    );
  }
  const data = keepChannels(new Uint8Array(decoded.data.buffer, decoded.data.byteOffset, decoded.data.length),
    decoded.info.channels, channels);
  return { width, height, mode, channels, data };
}
