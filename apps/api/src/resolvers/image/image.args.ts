import { ArgsType, Field, Int } from "type-graphql";
import { DEFAULT_K, MAX_K } from "../../limits.ts";

@ArgsType()
export class SimilarImagesArgs {
  @Field(() => String)
  imageId!: string;

  @Field(() => Int, { defaultValue: DEFAULT_K, description: `Number of neighbours, 1 to ${MAX_K}.` })
  k: number = DEFAULT_K;

  @Field(() => Int, { nullable: true, description: "Only images of this taxon's subtree." })
  withinTaxonId?: number | null;

  @Field(() => Int, { nullable: true, description: "Model version whose embeddings to search; default: the active one." })
  modelVersionId?: number | null;
}
