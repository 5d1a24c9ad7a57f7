import { ArgsType, Field } from "type-graphql";
import { PaginationArgs } from "../common/pagination.args.ts";
import { TaxonRank } from "../taxon/taxon.type.ts";

@ArgsType()
export class SearchTaxaArgs extends PaginationArgs {
  @Field(() => String, { description: "Scientific name, synonym or common name; prefix and typo-tolerant." })
  query!: string;

  @Field(() => TaxonRank, { nullable: true })
  rank?: TaxonRank | null;
}
