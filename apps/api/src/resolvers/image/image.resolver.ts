import { Arg, Args, Ctx, Field, FieldResolver, ObjectType, Query, Resolver, Root } from "type-graphql";
import type { Context } from "../../context.ts";
import { requireRange } from "../../errors.ts";
import { MAX_K } from "../../limits.ts";
import { isImageId } from "../../services/image.service.ts";
import { ModelVersion, toModelVersion } from "../model/model-version.type.ts";
import { Taxon, toTaxon } from "../taxon/taxon.type.ts";
import { SimilarImagesArgs } from "./image.args.ts";
import { Image, SimilarImage, toImage } from "./image.type.ts";

@ObjectType({ simpleResolvers: true })
export class SimilarImagesResult {
  @Field(() => ModelVersion, { description: "The model version whose embeddings were searched." })
  modelVersion!: ModelVersion;

  @Field(() => [SimilarImage], { description: "Nearest first." })
  results!: SimilarImage[];
}

@Resolver(() => Image)
export class ImageResolver {
  @Query(() => Image, { nullable: true, description: "An image by id; null when unknown." })
  async image(@Arg("id", () => String) id: string, @Ctx() ctx: Context): Promise<Image | null> {
    if (!isImageId(id)) return null;
    const row = await ctx.loaders.image.load(id);
    return row ? toImage(row) : null;
  }

  @Query(() => SimilarImagesResult, {
    complexity: ({ args, childComplexity }) => 10 + childComplexity * (typeof args.k === "number" ? args.k : 10),
    description: "Nearest images by cosine similarity of their embeddings under one model version (HNSW; exact when a subtree filter is selective).",
  })
  async similarImages(@Args(() => SimilarImagesArgs) args: SimilarImagesArgs, @Ctx() ctx: Context): Promise<SimilarImagesResult> {
    const k = requireRange("k", args.k, 1, MAX_K);
    const { model, hits } = await ctx.services.images.similar(args.imageId, k, args.withinTaxonId, args.modelVersionId);
    const rows = await ctx.loaders.image.loadMany(hits.map((hit) => hit.imageId));
    const results = hits.flatMap((hit, i) => {
      const row = rows[i];
      return row && !(row instanceof Error) ? [Object.assign(new SimilarImage(), { image: toImage(row), similarity: 1 - hit.distance })] : [];
    });
    return Object.assign(new SimilarImagesResult(), { modelVersion: toModelVersion(model), results });
  }

  @FieldResolver(() => Taxon, { nullable: true })
  async taxon(@Root() image: Image, @Ctx() ctx: Context): Promise<Taxon | null> {
    if (image.taxonId === null) return null;
    const row = await ctx.loaders.taxon.load(image.taxonId);
    return row ? toTaxon(row) : null;
  }
}
