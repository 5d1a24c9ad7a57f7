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

/**
 * POST /v1/embed/images. Each image is the file's bytes (JPEG, PNG, WebP, GIF, TIFF, AVIF, HEIF), base64. One image
 * may instead be the whole raw body, sent as `application/octet-stream` or its `image/*` type.
 */
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

/**
 * The binary embeddings response, sent by /v1/embed/images and /v1/embed/texts when the request's Accept prefers it
 * to JSON: the body is count × dim float32 little-endian, embedding after embedding in input order, and these
 * headers carry what the JSON body's other fields carry. It is also the content type of one raw image sent as a body.
 */
export const EMBEDDINGS_BINARY_TYPE = 'application/octet-stream';

export const EMBEDDING_HEADERS = {
  /** Number of embeddings. */
  count: 'Arbor-Embedding-Count',
  /** Floats per embedding. */
  dim: 'Arbor-Embedding-Dim',
  /** `l2`, as `normalization` in JSON. */
  normalization: 'Arbor-Embedding-Normalization',
  /** ModelInfo as JSON (non-ASCII characters as \u escapes), so `isStandIn` and `notice` travel with every response. */
  model: 'Arbor-Model',
} as const;

/** `binary`: one image as the raw body, embeddings answered as raw float32. `json`: JSON both ways. */
export type EmbeddingTransport = 'binary' | 'json';

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

/** The species catalog a tree-of-life classification scores over. */
export interface SpeciesCandidates {
  source: 'species-embeddings' | 'species-list';
  /** The folder or list file, by its base name (server paths are not the client's business). */
  name: string;
  species: number;
}

export interface ClassifyResponse {
  model: ModelInfo;
  /** What the scores are over: the species catalog, or the request's labels / bins. */
  candidates: SpeciesCandidates | { source: 'labels' | 'bins'; count: number };
  rank?: ClassifyRank;
  k: number;
  results: ClassifiedItem[];
}

export type ClassifierStatus = 'not_loaded' | 'loading' | 'ready' | 'failed';

/** How far the current step of building the species catalog is. */
export interface CatalogBuildProgress {
  step: string;
  done: number;
  total: number;
  unit: string;
}

/**
 * GET /v1/classify/status: whether tree-of-life classification can run. The species catalog is built in the
 * background once the model is loaded; embedding a species list takes seconds with the stand-in and minutes with
 * the real model (then it is cached). Custom-label classification needs no catalog.
 */
export interface ClassifierStatusResponse {
  status: ClassifierStatus;
  /** While loading: the build's current step, e.g. species embedded so far. */
  progress?: CatalogBuildProgress;
  /** When ready: the candidates, as `ClassifyResponse.candidates` names them. */
  catalog?: SpeciesCandidates;
  /** When failed: why (the service logs the whole error). */
  error?: string;
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
  /**
   * How embedding calls travel. Default `binary`: responses as raw float32 and a single image as the raw body (more
   * images, and stored image ids, go as JSON). `json` keeps JSON both ways.
   */
  transport?: EmbeddingTransport;
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

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The floats of little-endian float32 bytes: a view when the bytes allow one (4-byte aligned, little-endian host), else a copy. */
function littleEndianFloat32s(bytes: Uint8Array): Float32Array {
  const count = bytes.byteLength / Float32Array.BYTES_PER_ELEMENT;
  if (!HOST_IS_LITTLE_ENDIAN) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return Float32Array.from({ length: count }, (_, i) => view.getFloat32(i * Float32Array.BYTES_PER_ELEMENT, true));
  }
  // A Node Buffer may be a slice of the shared pool at any offset; a Float32Array view needs a multiple of 4.
  if (bytes.byteOffset % Float32Array.BYTES_PER_ELEMENT === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, count);
  // new Uint8Array(view) copies into a fresh buffer (Buffer#slice would not: it is a view).
  return new Float32Array(new Uint8Array(bytes).buffer, 0, count);
}

function headerInteger(headers: Pick<Headers, 'get'>, name: string): number | undefined {
  const value = headers.get(name)?.trim();
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

function headerModel(headers: Pick<Headers, 'get'>): ModelInfo | undefined {
  try {
    const model = JSON.parse(headers.get(EMBEDDING_HEADERS.model) ?? '') as Partial<ModelInfo> | null;
    return typeof model?.name === 'string' && typeof model.version === 'string' && typeof model.isStandIn === 'boolean' ? (model as ModelInfo) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A binary embeddings response (EMBEDDINGS_BINARY_TYPE) as Embeddings; the vectors are views into the body's bytes
 * when aligned. BAD_RESPONSE when a header is missing or the body is not count × dim × 4 bytes.
 */
export function decodeBinaryEmbeddings(body: Uint8Array, headers: Pick<Headers, 'get'>): Embeddings {
  const count = headerInteger(headers, EMBEDDING_HEADERS.count);
  const dim = headerInteger(headers, EMBEDDING_HEADERS.dim);
  const model = headerModel(headers);
  if (count === undefined || dim === undefined || model === undefined || headers.get(EMBEDDING_HEADERS.normalization) !== 'l2') {
    throw new InferenceClientError('BAD_RESPONSE', 'the inference service sent binary embeddings without valid Arbor-Embedding-* / Arbor-Model headers');
  }
  const expected = count * dim * Float32Array.BYTES_PER_ELEMENT;
  if (body.byteLength !== expected) {
    throw new InferenceClientError(
      'BAD_RESPONSE',
      `the inference service sent ${body.byteLength} bytes of binary embeddings; ${count} × ${dim} float32 are ${expected} bytes`,
    );
  }
  const floats = littleEndianFloat32s(body);
  return { model, normalization: 'l2', dim, vectors: Array.from({ length: count }, (_, i) => floats.subarray(i * dim, (i + 1) * dim)) };
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

/** A request body and its content type. */
interface Payload {
  contentType: string;
  data: string | Uint8Array<ArrayBuffer>;
}

/** Bytes fetch can send: a view of an ArrayBuffer as it is; one of a SharedArrayBuffer, copied. */
function sendableBytes(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
}

function jsonPayload(body: unknown): Payload {
  return { contentType: 'application/json', data: JSON.stringify(body) };
}

/** A successful (or `answerStatuses`) answer, read whole. */
interface Answer {
  /** e.g. `POST /v1/embed/texts`, for messages. */
  call: string;
  response: Response;
  body: Uint8Array;
  requestId?: string;
  attempts: number;
}

/** The body of an answer as JSON (undefined when empty); BAD_RESPONSE when it is not JSON. */
function readJson({ call, response, body, requestId, attempts }: Answer): unknown {
  const text = new TextDecoder().decode(body);
  try {
    return text === '' ? undefined : JSON.parse(text);
  } catch (error) {
    throw new InferenceClientError('BAD_RESPONSE', `${call}: the response is not JSON (status ${response.status})`, {
      status: response.status,
      requestId,
      attempts,
      cause: error,
    });
  }
}

function mediaType(response: Response): string | undefined {
  return response.headers.get('content-type')?.split(';', 1)[0]!.trim().toLowerCase();
}

/**
 * Calls the inference service over HTTP: JSON, and for embeddings raw float32 responses and single raw images
 * (`transport`); one overall timeout per call, bounded retries on 429/503 that wait as long as Retry-After asks,
 * typed errors (InferenceClientError).
 */
export class InferenceClient {
  readonly #baseUrl: string;
  readonly #timeoutMs: number;
  readonly #maxRetries: number;
  readonly #maxRetryDelayMs: number;
  readonly #requestId: () => string | undefined;
  readonly #transport: EmbeddingTransport;
  readonly #fetch: typeof fetch;

  constructor(options: InferenceClientOptions) {
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#timeoutMs = options.timeoutMs ?? 120_000;
    this.#maxRetries = options.maxRetries ?? 3;
    this.#maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;
    this.#requestId = options.requestId ?? (() => undefined);
    this.#transport = options.transport ?? 'binary';
    this.#fetch = options.fetch ?? fetch;
  }

  /**
   * L2-normalised image embeddings, one per image, in order. With the binary transport a single image goes as the raw
   * body; several go base64 in JSON. For images Arbor stores, `embedStoredImages` sends ids instead.
   */
  async embedImages(images: readonly Uint8Array[], options: CallOptions = {}): Promise<Embeddings> {
    const payload =
      this.#transport === 'binary' && images.length === 1
        ? { contentType: EMBEDDINGS_BINARY_TYPE, data: sendableBytes(images[0]!) }
        : jsonPayload({ images: images.map(toBase64) } satisfies EmbedImagesRequest);
    return this.#embeddings('/v1/embed/images', payload, options);
  }

  /**
   * L2-normalised embeddings of stored images (`image.id`s), one per id, in order: the service reads their bytes
   * from the image store. Needs a service with DATABASE_URL (else STORED_IMAGES_DISABLED); IMAGE_NOT_FOUND and
   * IMAGE_NOT_STORED carry `details.index`.
   */
  async embedStoredImages(imageIds: readonly string[], options: CallOptions = {}): Promise<Embeddings> {
    const body: EmbedStoredImagesRequest = { imageIds: [...imageIds] };
    return this.#embeddings('/v1/embed/images', jsonPayload(body), options);
  }

  /** L2-normalised text embeddings, one per text, in order. */
  async embedTexts(texts: readonly string[], options: CallOptions = {}): Promise<Embeddings> {
    const body: EmbedTextsRequest = { texts: [...texts] };
    return this.#embeddings('/v1/embed/texts', jsonPayload(body), options);
  }

  /** An embeddings call: asks for raw float32 with the binary transport, and decodes whichever the service sent. */
  async #embeddings(path: string, payload: Payload, options: CallOptions): Promise<Embeddings> {
    const accept = this.#transport === 'binary' ? `${EMBEDDINGS_BINARY_TYPE}, application/json;q=0.5` : 'application/json';
    const answer = await this.#exchange('POST', path, payload, accept, options);
    if (mediaType(answer.response) === EMBEDDINGS_BINARY_TYPE) return decodeBinaryEmbeddings(answer.body, answer.response.headers);
    return toEmbeddings(readJson(answer));
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

  /** Whether tree-of-life classification can run yet, and how far the species catalog's build is. */
  async classifierStatus(options: CallOptions = {}): Promise<ClassifierStatusResponse> {
    const response = (await this.request('GET', '/v1/classify/status', undefined, options)) as Partial<ClassifierStatusResponse> | null;
    if (!response || typeof response.status !== 'string') {
      throw new InferenceClientError('BAD_RESPONSE', 'the inference service sent a classifier status of unexpected shape');
    }
    return response as ClassifierStatusResponse;
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
    flags: { retry?: boolean; answerStatuses?: readonly number[] } = {},
  ): Promise<unknown> {
    const payload = body === undefined ? undefined : jsonPayload(body);
    return readJson(await this.#exchange(method, path, payload, 'application/json', options, flags));
  }

  /** One call, retried on 429/503 within the timeout; answers a 2xx (or `answerStatuses`) read whole, throws the rest typed. */
  async #exchange(
    method: 'GET' | 'POST',
    path: string,
    payload: Payload | undefined,
    accept: string,
    options: CallOptions,
    { retry = true, answerStatuses = [] }: { retry?: boolean; answerStatuses?: readonly number[] } = {},
  ): Promise<Answer> {
    const call = `${method} ${path}`;
    const deadline = Date.now() + this.#timeoutMs;
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    const requestId = options.requestId ?? this.#requestId();
    const headers: Record<string, string> = { accept };
    if (payload) headers['content-type'] = payload.contentType;
    if (requestId) headers['x-request-id'] = requestId;

    const stopped = (cause: unknown, attempts: number) =>
      timeout.aborted
        ? new InferenceClientError('TIMEOUT', `${call} timed out after ${this.#timeoutMs} ms`, { requestId, attempts, cause })
        : new InferenceClientError('ABORTED', `${call} was aborted`, { requestId, attempts, cause });

    for (let attempt = 1; ; attempt++) {
      let response: Response;
      let body: Uint8Array;
      try {
        response = await this.#fetch(`${this.#baseUrl}${path}`, { method, headers, body: payload?.data, signal });
        body = new Uint8Array(await response.arrayBuffer());
      } catch (error) {
        if (signal.aborted) throw stopped(error, attempt);
        throw new InferenceClientError('NETWORK', `${call} failed: ${(error as Error).message}`, {
          requestId,
          attempts: attempt,
          cause: error,
        });
      }
      const answer: Answer = { call, response, body, requestId: response.headers.get('x-request-id') ?? requestId, attempts: attempt };
      if (response.ok || answerStatuses.includes(response.status)) return answer;

      const retryAfterSeconds = parseRetryAfter(response.headers.get('retry-after'));
      const serviceError = (readJson(answer) as Partial<ErrorResponse> | undefined)?.error;
      const error = new InferenceClientError(
        serviceError?.code ?? 'BAD_RESPONSE',
        serviceError?.message ?? `${call} answered ${response.status}`,
        {
          status: response.status,
          retryAfterSeconds,
          requestId: answer.requestId,
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
