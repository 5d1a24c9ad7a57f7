// MODEL_PRECISION: which of a package's encoder files (fp32, fp16, int8) the service runs.
import { z } from 'zod';

import { ModelPackageError } from './errors.ts';
import { PRECISIONS, type EncoderRole, type Precision } from './manifest.schema.ts';
import type { ModelPackage } from './model-package.ts';

/** `auto`: fp16 on CUDA when the package has it, else fp32. int8 is never chosen automatically. */
export type PrecisionChoice = 'auto' | Precision;

/** One choice for both encoders, or one per encoder (`image:int8,text:fp32`). */
export type PrecisionSetting = PrecisionChoice | Readonly<Record<EncoderRole, PrecisionChoice>>;

const CHOICES: readonly PrecisionChoice[] = ['auto', ...PRECISIONS];
const ENCODER_KEYS: Readonly<Record<string, EncoderRole>> = { image: 'image_encoder', text: 'text_encoder' };
const EXPECTED = `${CHOICES.join(', ')}, or one per encoder such as image:int8,text:fp32`;

const isChoice = (value: string): value is PrecisionChoice => (CHOICES as readonly string[]).includes(value);

/** Parses MODEL_PRECISION (case-insensitive); an encoder the per-encoder form does not name is `auto`. */
export const PrecisionSettingSchema = z.string().transform((raw, ctx): PrecisionSetting => {
  const value = raw.trim().toLowerCase();
  if (isChoice(value)) return value;
  if (!value.includes(':')) {
    ctx.addIssue({ code: 'custom', message: `expected ${EXPECTED}; got "${raw}"` });
    return z.NEVER;
  }
  const perEncoder: Record<EncoderRole, PrecisionChoice> = { image_encoder: 'auto', text_encoder: 'auto' };
  const named = new Set<EncoderRole>();
  for (const item of value.split(',')) {
    const [key = '', choice = '', ...extra] = item.split(':').map((part) => part.trim());
    const role = ENCODER_KEYS[key];
    if (!role || !isChoice(choice) || extra.length > 0) {
      ctx.addIssue({ code: 'custom', message: `"${item.trim()}" is not encoder:precision with encoder image or text and precision ${CHOICES.join(', ')}` });
      return z.NEVER;
    }
    if (named.has(role)) {
      ctx.addIssue({ code: 'custom', message: `names the ${key} encoder twice` });
      return z.NEVER;
    }
    named.add(role);
    perEncoder[role] = choice;
  }
  return perEncoder;
});

export function formatPrecisionSetting(setting: PrecisionSetting): string {
  if (typeof setting === 'string') return setting;
  return `image:${setting.image_encoder},text:${setting.text_encoder}`;
}

/**
 * The encoder file for a role under MODEL_PRECISION. An explicit precision the package does not list is a
 * PRECISION_MISSING error naming the precisions it does list for that encoder, never a silent substitute.
 */
export function chooseEncoderFile(pkg: ModelPackage, role: EncoderRole, setting: PrecisionSetting, usesCuda: boolean): string {
  const choice = typeof setting === 'string' ? setting : setting[role];
  const listed = (precision: Precision) => pkg.encoderPath(role, precision);
  const wanted: Precision = choice !== 'auto' ? choice : usesCuda && listed('fp16') ? 'fp16' : listed('fp32') ? 'fp32' : 'fp16';
  const file = listed(wanted);
  if (file) return file;
  const available = PRECISIONS.filter((precision) => listed(precision));
  const needs = choice === 'auto' ? 'an fp32 or fp16' : `an ${wanted}`;
  const hint = typeof setting === 'string' && available.length > 0 ? '; MODEL_PRECISION can name one precision per encoder, e.g. image:int8,text:fp32' : '';
  throw new ModelPackageError(
    'PRECISION_MISSING',
    pkg.dir,
    `MODEL_PRECISION=${formatPrecisionSetting(setting)} needs ${needs} ${role}, but the package lists its ${role} in ${available.join(', ')} only${hint}`,
  );
}
