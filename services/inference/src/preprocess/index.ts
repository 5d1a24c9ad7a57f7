export {
  CLIP_MEAN,
  CLIP_STD,
  DEFAULT_APPLY_EXIF_ORIENTATION,
  DEFAULT_MAX_INPUT_BYTES,
  DEFAULT_MAX_INPUT_PIXELS,
  INPUT_SIZE,
  MAX_ASPECT_RATIO,
  PREPROCESS_MODES,
  type PreprocessMode,
} from './constants.ts';
export { ImagePreprocessError, type ImagePreprocessErrorCode } from './errors.ts';
export { preprocessBatch, preprocessImage, preprocessImageInto, type ImageTensor, type PreprocessOptions } from './preprocess.ts';
