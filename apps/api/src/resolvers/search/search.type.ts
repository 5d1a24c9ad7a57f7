import { Field, Float, ObjectType } from "type-graphql";
import { Taxon } from "../taxon/taxon.type.ts";

@ObjectType({ simpleResolvers: true, description: "A taxon found by name search, with the name that matched." })
export class TaxonSearchHit {
  @Field(() => Taxon)
  taxon!: Taxon;

  @Field(() => String)
  matchedName!: string;

  @Field(() => String, { description: "scientific, synonym or vernacular." })
  matchKind!: string;

  @Field(() => Float, { description: "2 exact, 1–1.5 prefix, below 1 trigram similarity." })
  score!: number;
}
