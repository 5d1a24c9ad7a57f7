// The typed client of the inference service, and the wire contract it shares with server.ts.
// Other services call inference only through InferenceClient. This file must stay free of server-side
// imports (onnxruntime, sharp, express) so that importing it is cheap (type-only imports are erased).

import type { PredictionRow } from './classify/rows.ts';

/** The model that computed a response. `isStandIn: true` means NOT BioCLIP 2; `notice` then says so in words. */
export interface ModelInfo {
  name: string;
  version: string;
  isStandIn: boolean;
  notice?: string;
}

/** POST /v1/embed/images. Each image is the file's bytes (JPEG, PNG, WebP, GIF, TIFF, AVIF, HEIF), base64. */
export interface EmbedImagesRequest {
  images: string[];
}

/**
 * POST /v1/embed/images by stored image: ids of Arbor's `image` table whose bytes are in the image store
 * (a service started with DATABASE_URL). Send either this or EmbedImagesRequest, not both fields.
 */
export interface EmbedStoredImagesRequest {
  imageIds: string[];
}

/** POST /v1/embed/texts. */
export interface EmbedTextsRequest {
  texts: string[];
}

/** One embedding per input, in input order, each scaled to unit L2 norm (`normalization: 'l2'`). */
export interface EmbeddingsResponse {
  model: ModelInfo;
  normalization: 'l2';
  dim: number;
  embeddings: number[][];
}

export type ClassifyRank = 'kingdom' | 'phylum' | 'class' | 'order' | 'family' | 'genus' | 'species';

/**
 * POST /v1/classify: pybioclip's TreeOfLifeClassifier over the service's candidate species, or its custom-label
 * classifiers when `labels` is given. Give `images` (base64 file bytes) or `embeddings` (image embeddings of this
 * model, e.g. stored ones; normalised by the service), one result per item.
 */
export interface ClassifyRequest {
  images?: string[];
  embeddings?: number[][];
  /** Rank of the predictions; default species. */
  rank?: ClassifyRank;
  /** Predictions per image; default 5. */
  k?: number;
  /** The answer: the deepest taxon whose probability reaches this; default 0.5, null for none. */
  threshold?: number | null;
  /** pybioclip's min_prob for ranks above species; default 0 (exact sums). */
  minProb?: number;
  /** Candidates restricted to taxa by name at a rank (homonyms included) or by lineage prefixes. */
  subset?: { rank: ClassifyRank; names: string[] } | { lineages: string[][] };
  /** Open-vocabulary labels (each put into the 80 templates), or labels with bins whose scores are summed. */
  labels?: string[] | { label: string; bin: string }[];
}

/** The options of a classify call, without its inputs. */
export type ClassifyParameters = Omit<ClassifyRequest, 'images' | 'embeddings'>;

/** What InferenceClient.classify takes: image file bytes or embeddings, plus options. */
export type ClassifyInput = ClassifyParameters & ({ images: readonly Uint8Array[] } | { embeddings: readonly ArrayLike<number>[] });

/**
 * pybioclip's columns down to the requested rank (species adds species_epithet, species, common_name); custom labels
 * give `classification` instead.
 */
export type ClassifyPrediction = Partial<PredictionRow> & { classification?: string; score: number };

export interface ClassifyAnswer {
  rank: ClassifyRank;
  lineage: string[];
  name: string;
  commonName?: string;
  score: number;
}

export interface ClassifiedItem {
  predictions: ClassifyPrediction[];
  /** Tree of life only: the deepest taxon above the threshold, or null. */
  answer?: ClassifyAnswer | null;
  /** Tree of life only: how the scores compare with a float64 computation. */
  exactness?: { errorBound: number; certified: Partial<Record<ClassifyRank, boolean>>; topKCertified: Partial<Record<ClassifyRank, boolean>>; rescored: number };
}

export interface ClassifyResponse {
  model: ModelInfo;
  /** What the scores are over: the species catalog, or the request's labels / bins. */
  candidates: { source: 'species-embeddings' | 'species-list'; name: string; species: number } | { source: 'labels' | 'bins'; count: number };
  rank?: ClassifyRank;
  k: number;
  results: ClassifiedItem[];
}

export type ReadinessStatus = 'ready' | 'not_loaded' | 'loading' | 'failed' | 'shutting_down';

/** GET /readyz: 200 when ready, otherwise 503 with Retry-After. */
export interface ReadinessResponse {
  status: ReadinessStatus;
  model?: ModelInfo;
  /** Execution providers of the loaded encoders, in priority order. */
  providers?: { image: string[]; text: string[] };
  error?: string;
}

/** Error codes the service sends in `{ error: { code, message } }`. */
export type ServiceErrorCode =
  | 'INVALID_JSON'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'INVALID_REQUEST'
  | 'BODY_TOO_LARGE'
  | 'TOO_MANY_ITEMS'
  | 'INVALID_BASE64'
  | 'UNSUPPORTED_IMAGE'
  | 'CORRUPT_IMAGE'
  | 'IMAGE_TOO_LARGE'
  | 'TEXT_TOO_LONG'
  | 'IMAGE_NOT_FOUND'
  | 'IMAGE_NOT_STORED'
  | 'IMAGE_FILE_CORRUPT'
  | 'STORED_IMAGES_TOO_LARGE'
  | 'STORED_IMAGES_DISABLED'
  | 'STORED_IMAGES_UNAVAILABLE'
  | 'INVALID_EMBEDDING'
  | 'UNKNOWN_TAXON'
  | 'EMPTY_CANDIDATES'
  | 'CLASSIFIER_NOT_READY'
  | 'QUEUE_FULL'
  | 'MODEL_NOT_READY'
  | 'MODEL_UNAVAILABLE'
  | 'SHUTTING_DOWN'
  | 'NOT_FOUND'
  | 'INTERNAL';

/** Codes raised by the client itself, when no service answer was read. */
export type ClientErrorCode = 'TIMEOUT' | 'ABORTED' | 'NETWORK' | 'BAD_RESPONSE';

export interface ErrorResponse {
  error: { code: ServiceErrorCode; message: string; details?: Record<string, unknown> };
}

export class InferenceClientError extends Error {
  override readonly name = 'InferenceClientError';

  constructor(
    readonly code: ServiceErrorCode | ClientErrorCode,
    message: string,
    readonly info: {
      status?: number;
      retryAfterSeconds?: number;
      requestId?: string;
      details?: Record<string, unknown>;
      attempts?: number;
      cause?: unknown;
    } = {},
  ) {
    super(message, { cause: info.cause });
  }

  get status(): number | undefined {
    return this.info.status;
  }
}

export interface InferenceClientOptions {
  /** e.g. http://127.0.0.1:4100 */
  baseUrl: string;
  /** Whole-call budget including retries. Default 120 s (a CPU batch of the real model takes tens of seconds). */
  timeoutMs?: number;
  /** Retries after 429 or 503. Default 3. */
  maxRetries?: number;
  /** Longest pause before a retry; a Retry-After beyond it ends the call instead. Default 30 s. */
  maxRetryDelayMs?: number;
  /** Supplies X-Request-Id when a call does not pass one (e.g. from the caller's request context). */
  requestId?: () => string | undefined;
  fetch?: typeof fetch;
}

export interface CallOptions {
  signal?: AbortSignal;
  requestId?: string;
}

export interface Embeddings {
  model: ModelInfo;
  normalization: 'l2';
  dim: number;
  vectors: Float32Array[];
}

export interface InferenceHealth {
  live: boolean;
  ready: boolean;
  readiness: ReadinessResponse;
}

const RETRYABLE_STATUSES = new Set([429, 503]);
const FIRST_BACKOFF_MS = 250;

/** Retry-After as seconds: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function toEmbeddings(body: unknown): Embeddings {
  const response = body as Partial<EmbeddingsResponse> | null;
  if (
    !response ||
    !Array.isArray(response.embeddings) ||
    typeof response.dim !== 'number' ||
    response.normalization !== 'l2' ||
    typeof response.model?.name !== 'string' ||
    response.embeddings.some((row) => !Array.isArray(row) || row.length !== response.dim)
  ) {
    throw new InferenceClientError('BAD_RESPONSE', 'the inference service sent an embeddings response of unexpected shape');
  }
  return {
    model: response.model,
    normalization: 'l2',
    dim: response.dim,
    vectors: response.embeddings.map((row) => Float32Array.from(row)),
  };
}

/**
 * Calls the inference service: JSON over HTTP, one overall timeout per call, bounded retries on
 * 429/503 that wait as long as Retry-After asks, typed errors (InferenceClientError).
 */
export class InferenceClient {
  readonly #baseUrl: string;
  readonly #timeoutMs: number;
  readonly #maxRetries: number;
  readonly #maxRetryDelayMs: number;
  readonly #requestId: () => string | undefined;
  readonly #fetch: typeof fetch;

  constructor(options: InferenceClientOptions) {
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#timeoutMs = options.timeoutMs ?? 120_000;
    this.#maxRetries = options.maxRetries ?? 3;
    this.#maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;
    this.#requestId = options.requestId ?? (() => undefined);
    this.#fetch = options.fetch ?? fetch;
  }

  /** L2-normalised image embeddings, one per image, in order. For images Arbor stores, `embedStoredImages` sends ids instead. */
  async embedImages(images: readonly Uint8Array[], options: CallOptions = {}): Promise<Embeddings> {
    const body: EmbedImagesRequest = { images: images.map(toBase64) };
    return toEmbeddings(await this.request('POST', '/v1/embed/images', body, options));
  }

  /**
   * L2-normalised embeddings of stored images (`image.id`s), one per id, in order: the service reads their bytes
   * from the image store. Needs a service with DATABASE_URL (else STORED_IMAGES_DISABLED); IMAGE_NOT_FOUND and
   * IMAGE_NOT_STORED carry `details.index`.
   */
  async embedStoredImages(imageIds: readonly string[], options: CallOptions = {}): Promise<Embeddings> {
    const body: EmbedStoredImagesRequest = { imageIds: [...imageIds] };
    return toEmbeddings(await this.request('POST', '/v1/embed/images', body, options));
  }

  /** L2-normalised text embeddings, one per text, in order. */
  async embedTexts(texts: readonly string[], options: CallOptions = {}): Promise<Embeddings> {
    const body: EmbedTextsRequest = { texts: [...texts] };
    return toEmbeddings(await this.request('POST', '/v1/embed/texts', body, options));
  }

  /** Tree-of-life (or custom-label) predictions for images (file bytes) or image embeddings, one result per item. */
  async classify(input: ClassifyInput, options: CallOptions = {}): Promise<ClassifyResponse> {
    const { images, embeddings, ...rest } = input as Partial<{ images: readonly Uint8Array[]; embeddings: readonly ArrayLike<number>[] }> & ClassifyParameters;
    const body: ClassifyRequest = {
      ...rest,
      ...(images ? { images: images.map(toBase64) } : { embeddings: (embeddings ?? []).map((e) => Array.from(e)) }),
    };
    const response = (await this.request('POST', '/v1/classify', body, options)) as Partial<ClassifyResponse> | null;
    const items = images?.length ?? embeddings?.length ?? 0;
    if (!response || !Array.isArray(response.results) || response.results.length !== items || typeof response.model?.name !== 'string') {
      throw new InferenceClientError('BAD_RESPONSE', 'the inference service sent a classify response of unexpected shape');
    }
    return response as ClassifyResponse;
  }

  /** Liveness and readiness in one call; never retries. `ready: false` is an answer, not an error. */
  async health(options: CallOptions = {}): Promise<InferenceHealth> {
    const readiness = (await this.request('GET', '/readyz', undefined, options, { retry: false, answerStatuses: [503] })) as ReadinessResponse;
    return { live: true, ready: readiness.status === 'ready', readiness };
  }

  /**
   * One JSON call with this client's timeout, retries and errors. Public so that routes added later
   * (e.g. classification) get a typed method here without a second HTTP stack.
   */
  async request(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    options: CallOptions = {},
    { retry = true, answerStatuses = [] }: { retry?: boolean; answerStatuses?: readonly number[] } = {},
  ): Promise<unknown> {
    const deadline = Date.now() + this.#timeoutMs;
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    const requestId = options.requestId ?? this.#requestId();
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (requestId) headers['x-request-id'] = requestId;
    const payload = body === undefined ? undefined : JSON.stringify(body);

    const stopped = (cause: unknown, attempts: number) =>
      timeout.aborted
        ? new InferenceClientError('TIMEOUT', `${method} ${path} timed out after ${this.#timeoutMs} ms`, { requestId, attempts, cause })
        : new InferenceClientError('ABORTED', `${method} ${path} was aborted`, { requestId, attempts, cause });

    for (let attempt = 1; ; attempt++) {
      let response: Response;
      let text: string;
      try {
        response = await this.#fetch(`${this.#baseUrl}${path}`, { method, headers, body: payload, signal });
        text = await response.text();
      } catch (error) {
        if (signal.aborted) throw stopped(error, attempt);
        throw new InferenceClientError('NETWORK', `${method} ${path} failed: ${(error as Error).message}`, {
          requestId,
          attempts: attempt,
          cause: error,
        });
      }
      const responseId = response.headers.get('x-request-id') ?? requestId;
      let json: unknown;
      try {
        json = text === '' ? undefined : JSON.parse(text);
      } catch (error) {
        throw new InferenceClientError('BAD_RESPONSE', `${method} ${path}: the response is not JSON (status ${response.status})`, {
          status: response.status,
          requestId: responseId,
          attempts: attempt,
          cause: error,
        });
      }
      if (response.ok || answerStatuses.includes(response.status)) return json;

      const retryAfterSeconds = parseRetryAfter(response.headers.get('retry-after'));
      const serviceError = (json as Partial<ErrorResponse> | undefined)?.error;
      const error = new InferenceClientError(
        serviceError?.code ?? 'BAD_RESPONSE',
        serviceError?.message ?? `${method} ${path} answered ${response.status}`,
        {
          status: response.status,
          retryAfterSeconds,
          requestId: responseId,
          attempts: attempt,
          details: serviceError?.details,
        },
      );
      if (!retry || !RETRYABLE_STATUSES.has(response.status) || attempt > this.#maxRetries) throw error;
      const delayMs = retryAfterSeconds !== undefined ? retryAfterSeconds * 1000 : FIRST_BACKOFF_MS * 2 ** (attempt - 1);
      // Retrying sooner than the service asked would only be refused again; waiting past the deadline is pointless.
      if (delayMs > this.#maxRetryDelayMs || Date.now() + delayMs >= deadline) throw error;
      try {
        await sleep(delayMs, signal);
      } catch (cause) {
        throw stopped(cause, attempt);
      }
    }
  }
}
