import type { ModelVersionRow, SimilarImageHit, Store } from "@arbor/store";
import { BadInputError, NotFoundError } from "../errors.ts";
import { EXACT_SEARCH_CANDIDATE_LIMIT, HNSW_EF_SEARCH } from "../limits.ts";
import type { ModelService } from "./model.service.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isImageId(id: string): boolean {
  return UUID.test(id);
}

export class ImageService {
  constructor(
    private readonly store: Store,
    private readonly models: ModelService,
  ) {}

  async similar(
    imageId: string,
    k: number,
    withinTaxonId: number | null | undefined,
    modelVersionId: number | null | undefined,
  ): Promise<{ model: ModelVersionRow; hits: SimilarImageHit[] }> {
    if (!isImageId(imageId)) throw new BadInputError("imageId", "must be an image id (UUID)");
    const model = await this.models.resolve(modelVersionId);
    const [image] = await this.store.images.getByIds([imageId]);
    if (!image) throw new NotFoundError("image", imageId);
    if (withinTaxonId != null && (await this.store.taxa.getByIds([withinTaxonId])).length === 0) {
      throw new NotFoundError("taxon", withinTaxonId);
    }
    if (!(await this.store.images.hasEmbedding(imageId, model.id))) {
      throw new BadInputError("imageId", `image ${imageId} has no embedding under model version ${model.id}`);
    }
    const hits = await this.store.images.findSimilar({
      imageId,
      modelVersionId: model.id,
      k,
      withinTaxonId: withinTaxonId ?? undefined,
      exactCandidateLimit: EXACT_SEARCH_CANDIDATE_LIMIT,
      efSearch: HNSW_EF_SEARCH,
    });
    return { model, hits };
  }
}
