/** Side of the square image BioCLIP 2 (open_clip ViT-L/14) sees. */
export const INPUT_SIZE = 224;

/** OpenAI CLIP normalisation constants, used by open_clip and pybioclip alike. */
export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;

/**
 * The two reference preprocessing pipelines.
 * - `open_clip`: open_clip's eval transform: bicubic resize of the shortest side to 224 (PIL, antialiased),
 *   centre crop 224, convert to RGB, scale to [0, 1], normalise.
 * - `pybioclip`: pybioclip's `preprocess_img`: convert to RGB, to a float tensor, squash to 224×224 with
 *   torchvision `Resize((224, 224), antialias=True)` (bilinear), normalise. No crop, no EXIF rotation.
 */
export const PREPROCESS_MODES = ['open_clip', 'pybioclip'] as const;
export type PreprocessMode = (typeof PREPROCESS_MODES)[number];

/** Per-mode default for applying the EXIF Orientation tag, as each reference does. */
export const DEFAULT_APPLY_EXIF_ORIENTATION: Readonly<Record<PreprocessMode, boolean>> = {
  open_clip: true,
  pybioclip: false,
};

/**
 * Decompression-bomb guards. 50 MP covers 48 MP phone photos (8000×6000) and every camera-trap frame;
 * the pixel limit is checked against the header before any pixel is decoded.
 */
export const DEFAULT_MAX_INPUT_PIXELS = 50_000_000;
export const DEFAULT_MAX_INPUT_BYTES = 50 * 1024 * 1024;

/**
 * Longest/shortest side ratio accepted. open_clip scales the short side to 224, so a 50000×1 strip would
 * need an 11.2-million-pixel-wide intermediate (Pillow would try to allocate all of it); 1000:1 is far
 * beyond any photograph or panorama and keeps resampling bounded.
 */
export const MAX_ASPECT_RATIO = 1000;
