// POST /v1/classify: image bytes or embeddings → pybioclip-style predictions over the species catalog, or over the
// request's custom labels.
import type { ClassifiedItem, ClassifyResponse } from '../client.ts';
import { ClassifyError, CustomLabelsBinningClassifier, CustomLabelsClassifier, type Subset } from '../classify/index.ts';
import { encoderSha256 } from '../models/encoder-identity.ts';
import type { LoadedModel } from '../models/model-host.ts';
import { HttpError } from '../http-errors.ts';
import { decodeImages, requireJson, route, type RouteRegistrar } from '../server.ts';
import type { ClassifierHost } from './classifier-host.ts';
import { parseClassifyRequest, type ParsedClassifyRequest } from './classify-request.ts';
import { embedTextsInChunks } from './embed-texts.ts';
import { ClassifierNotReadyError } from './errors.ts';
import { LabelEmbeddings } from './label-embeddings.ts';

/** ClassifyError codes that mean the request was wrong, with the field to blame. */
const CLIENT_ERRORS: Partial<Record<ClassifyError['code'], { code: 'INVALID_EMBEDDING' | 'UNKNOWN_TAXON' | 'EMPTY_CANDIDATES' | 'INVALID_REQUEST'; field: string }>> = {
  DIMENSION_MISMATCH: { code: 'INVALID_EMBEDDING', field: 'embeddings' },
  NON_FINITE: { code: 'INVALID_EMBEDDING', field: 'embeddings' },
  ZERO_VECTOR: { code: 'INVALID_EMBEDDING', field: 'embeddings' },
  UNKNOWN_TAXON: { code: 'UNKNOWN_TAXON', field: 'subset' },
  INVALID_LINEAGE: { code: 'INVALID_REQUEST', field: 'subset' },
  EMPTY_CANDIDATES: { code: 'EMPTY_CANDIDATES', field: 'subset' },
  INVALID_OPTION: { code: 'INVALID_REQUEST', field: 'labels' },
};

function asHttpError(error: unknown): unknown {
  if (error instanceof ClassifierNotReadyError) {
    return new HttpError(503, 'CLASSIFIER_NOT_READY', error.message, { state: error.state }, error.retryAfterSeconds);
  }
  if (error instanceof ClassifyError) {
    const mapped = CLIENT_ERRORS[error.code];
    if (mapped) return new HttpError(400, mapped.code, error.message, { field: mapped.field });
  }
  return error;
}

async function imageEmbeddings(model: LoadedModel, request: ParsedClassifyRequest): Promise<Float32Array[]> {
  if (request.images) return model.images.embed(decodeImages(request.images));
  const dim = model.package.manifest.embeddingDim;
  return request.embeddings!.map((embedding, index) => {
    if (embedding.length !== dim) {
      throw new HttpError(400, 'INVALID_EMBEDDING', `embeddings[${index}] has ${embedding.length} numbers; this model's embeddings have ${dim}`, { field: `embeddings.${index}` });
    }
    return Float32Array.from(embedding);
  });
}

export function registerClassifyRoutes(classifier: ClassifierHost): RouteRegistrar {
  const labelEmbeddings = new LabelEmbeddings();
  return (router, { config }) => {
    router.get(
      '/classify/status',
      route((_req, res) => {
        res.json(classifier.status());
      }),
    );

    router.post(
      '/classify',
      route(async (req, res) => {
        requireJson(req);
        const request = parseClassifyRequest(req.body, config);
        try {
          const body = request.labels ? await classifyLabels(request) : await classifyTree(request);
          res.json(body);
        } catch (error) {
          throw asHttpError(error);
        }
      }),
    );

    async function classifyTree(request: ParsedClassifyRequest): Promise<ClassifyResponse> {
      const { model, catalog } = await classifier.acquire();
      const embeddings = await imageEmbeddings(model, request);
      const subset: Subset | undefined = request.subset;
      const results = await classifier.run(() =>
        catalog.classifier.classify(embeddings, { rank: request.rank, k: request.k, subset, threshold: request.threshold, minProb: request.minProb }),
      );
      return {
        model: model.info,
        candidates: catalog.description,
        rank: request.rank,
        k: request.k,
        results: results.map(
          (result): ClassifiedItem => ({
            predictions: result.predictions[request.rank] ?? [],
            answer: result.answer ? { ...result.answer, lineage: [...result.answer.lineage] } : null,
            exactness: result.exactness,
          }),
        ),
      };
    }

    async function classifyLabels(request: ParsedClassifyRequest): Promise<ClassifyResponse> {
      const labels = request.labels!;
      const model = await classifier.model();
      const embeddings = await imageEmbeddings(model, request);
      const manifest = model.package.manifest;
      const names = labels.map((l) => (typeof l === 'string' ? l : l.label));
      const vectors = await labelEmbeddings.embed(names, encoderSha256(model, 'text_encoder', config.precision), manifest.embeddingDim, (texts) =>
        embedTextsInChunks(model, texts, config.maxQueue),
      );
      const options = { logitScale: manifest.logitScale, dim: manifest.embeddingDim };
      const binned = typeof labels[0] === 'object';
      const scorer = binned
        ? new CustomLabelsBinningClassifier((labels as { label: string; bin: string }[]).map((l, i) => ({ ...l, embedding: vectors[i]! })), options)
        : new CustomLabelsClassifier(names.map((label, i) => ({ label, embedding: vectors[i]! })), options);
      const predictions = await classifier.run(async () => scorer.classify(embeddings, request.k));
      return {
        model: model.info,
        candidates: binned ? { source: 'bins', count: (scorer as CustomLabelsBinningClassifier).bins.length } : { source: 'labels', count: names.length },
        k: request.k,
        results: predictions.map((rows) => ({ predictions: rows.map((row) => ({ ...row })) })),
      };
    }
  };
}
