// The body of POST /v1/classify, validated. Wire types live in client.ts; this file turns a body into them or into a
// 400 naming the field.
import { z } from 'zod';

import { RANKS } from '../classify/index.ts';
import type { InferenceConfig } from '../config.ts';
import { HttpError } from '../http-errors.ts';

/** Largest k per rank; pybioclip's CLI default is 5. */
export const MAX_K = 100;
const MAX_SUBSET_NAMES = 10_000;

function requestSchema(config: InferenceConfig) {
  const rank = z.enum(RANKS);
  const label = z.string().trim().min(1).max(config.maxTextChars);
  return z
    .strictObject({
      images: z.array(z.string()).min(1).max(config.maxImagesPerRequest).optional(),
      embeddings: z.array(z.array(z.number()).min(1)).min(1).max(config.maxImagesPerRequest).optional(),
      rank: rank.default('species'),
      k: z.number().int().min(1).max(MAX_K).default(5),
      threshold: z.number().min(0).max(1).nullable().default(0.5),
      minProb: z.number().min(0).max(1).default(0),
      subset: z
        .union([
          z.strictObject({ rank, names: z.array(z.string().min(1)).min(1).max(MAX_SUBSET_NAMES) }),
          z.strictObject({ lineages: z.array(z.array(z.string()).min(1).max(RANKS.length)).min(1).max(MAX_SUBSET_NAMES) }),
        ])
        .optional(),
      labels: z
        .union([z.array(label), z.array(z.strictObject({ label, bin: label }))])
        .refine((labels) => labels.length >= 1 && labels.length <= config.maxLabelsPerRequest, {
          message: `give 1 to ${config.maxLabelsPerRequest} labels`,
        })
        .optional(),
    })
    .superRefine((body, ctx) => {
      if ((body.images === undefined) === (body.embeddings === undefined)) {
        ctx.addIssue({ code: 'custom', path: ['images'], message: 'give either "images" (base64) or "embeddings", not both' });
      }
      if (body.labels !== undefined) {
        const names = body.labels.map((l) => (typeof l === 'string' ? l : l.label));
        const twice = names.find((name, i) => names.indexOf(name) !== i);
        if (twice !== undefined) ctx.addIssue({ code: 'custom', path: ['labels'], message: `label '${twice}' is given twice` });
        for (const key of ['subset'] as const) {
          if (body[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `"${key}" applies to the tree of life, not to custom labels` });
        }
      }
    });
}

export type ParsedClassifyRequest = z.infer<ReturnType<typeof requestSchema>>;

const schemas = new WeakMap<InferenceConfig, ReturnType<typeof requestSchema>>();

/** The validated request, or HttpError 400 INVALID_REQUEST with `details.field` (e.g. "subset.names.0"). */
export function parseClassifyRequest(body: unknown, config: InferenceConfig): ParsedClassifyRequest {
  let schema = schemas.get(config);
  if (!schema) schemas.set(config, (schema = requestSchema(config)));
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'INVALID_REQUEST', 'the body must be a JSON object');
  }
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.join('.');
  throw new HttpError(400, 'INVALID_REQUEST', `${field || 'body'}: ${issue.message}`, { field });
}
