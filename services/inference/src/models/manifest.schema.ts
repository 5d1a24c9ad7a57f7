import { z } from 'zod';

import { CLIP_MEAN, CLIP_STD, INPUT_SIZE, PREPROCESS_MODES } from '../preprocess/index.ts';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits');
const rgbTriple = z.tuple([z.number(), z.number(), z.number()]);
const close = (a: readonly number[], b: readonly number[]) => a.every((v, i) => Math.abs(v - b[i]) < 1e-7);

/** Encoder precisions a package may list: fp32, fp16 (CUDA) and int8 (dynamic quantisation, CPU). */
export const PRECISIONS = ['fp32', 'fp16', 'int8'] as const;

export const PackageFileSchema = z.object({
  /** Relative to the package directory, and inside it. */
  path: z
    .string()
    .min(1)
    .refine((p) => !p.startsWith('/') && !p.split(/[\\/]/).includes('..'), 'must be a relative path inside the package'),
  sha256,
  bytes: z.number().int().positive(),
  role: z.enum(['image_encoder', 'text_encoder', 'external_data']),
  precision: z.enum(PRECISIONS),
  /** For external_data: the .onnx file whose weights this file holds. */
  dataFor: z.string().optional(),
});

const EncoderIoSchema = z.object({ input: z.string().min(1), output: z.string().min(1) });

/**
 * manifest.json of a model package (written by models/export). Unknown fields are kept. The checks
 * beyond shapes say what this service can run: the preprocessing module implements the CLIP mean,
 * std and 224 px input, so a package that asks for anything else is refused rather than served wrongly.
 */
export const ModelManifestSchema = z
  .looseObject({
    name: z.string().min(1),
    version: z.string().min(1),
    description: z.string(),
    license: z.string().min(1),
    isStandIn: z.boolean(),
    embeddingDim: z.number().int().positive(),
    logitScale: z.number().positive(),
    imageSize: z.literal(INPUT_SIZE, { message: `this service preprocesses to ${INPUT_SIZE} px only` }),
    preprocessing: z.looseObject({
      mode: z.enum(PREPROCESS_MODES),
      mean: rgbTriple.refine((mean) => close(mean, CLIP_MEAN), `must be the CLIP mean ${CLIP_MEAN.join(', ')}`),
      std: rgbTriple.refine((std) => close(std, CLIP_STD), `must be the CLIP std ${CLIP_STD.join(', ')}`),
      interpolation: z.string(),
    }),
    tokenizer: z.looseObject({
      /** Relative to the package directory; may point outside it (the shared vocabulary in models/tokenizer). */
      file: z.string().min(1),
      sha256: sha256.optional(),
      contextLength: z.number().int().positive(),
      sot: z.number().int().nonnegative(),
      eot: z.number().int().nonnegative(),
    }),
    io: z
      .object({ image: EncoderIoSchema, text: EncoderIoSchema, normalized: z.boolean() })
      .default({
        image: { input: 'pixel_values', output: 'image_embeds' },
        text: { input: 'input_ids', output: 'text_embeds' },
        normalized: false,
      }),
    files: z
      .array(PackageFileSchema)
      .min(1)
      .superRefine((files, ctx) => {
        for (const role of ['image_encoder', 'text_encoder'] as const) {
          if (!files.some((file) => file.role === role)) ctx.addIssue({ code: 'custom', message: `lists no ${role}` });
        }
        const paths = new Set<string>();
        const encoders = new Set<string>();
        files.forEach((file, index) => {
          if (paths.has(file.path)) ctx.addIssue({ code: 'custom', path: [index, 'path'], message: `${file.path} is listed twice` });
          paths.add(file.path);
          // A service picks an encoder by role and precision, so two candidates would make the choice arbitrary.
          if (file.role === 'external_data') return;
          const key = `${file.precision} ${file.role}`;
          if (encoders.has(key)) ctx.addIssue({ code: 'custom', path: [index, 'precision'], message: `lists a second ${key}` });
          encoders.add(key);
        });
      }),
  });

export type ModelManifest = z.infer<typeof ModelManifestSchema>;
export type PackageFile = z.infer<typeof PackageFileSchema>;
export type EncoderRole = 'image_encoder' | 'text_encoder';
export type Precision = PackageFile['precision'];
