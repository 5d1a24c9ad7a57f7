import { ArgsType, Field, Int } from "type-graphql";
import { DEFAULT_K, MAX_K } from "../../limits.ts";

@ArgsType()
export class TaxonArgs {
  @Field(() => Int, { nullable: true })
  id?: number | null;

  @Field(() => String, { nullable: true, description: "Exact scientific name, case-insensitive." })
  scientificName?: string | null;
}

@ArgsType()
export class SimilarTaxaArgs {
  @Field(() => Int, { defaultValue: DEFAULT_K, description: `Number of neighbours, 1 to ${MAX_K}.` })
  k: number = DEFAULT_K;

  @Field(() => Int, { nullable: true, description: "Model version; default: the active one." })
  modelVersionId?: number | null;
}
