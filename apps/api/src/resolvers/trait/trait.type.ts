import { Field, Float, ObjectType } from "type-graphql";
import type { TraitRow } from "@arbor/store";

@ObjectType({ simpleResolvers: true, description: "A taxon-level trait value (numeric with unit, or categorical) with its source." })
export class Trait {
  @Field(() => String)
  name!: string;

  @Field(() => Float, { nullable: true })
  numericValue!: number | null;

  @Field(() => String, { nullable: true })
  textValue!: string | null;

  @Field(() => String, { nullable: true })
  unit!: string | null;

  @Field(() => String, { description: "Data set, e.g. AVONET, PanTHERIA, AnAge." })
  source!: string;

  @Field(() => String, { nullable: true, description: "Citation of the source." })
  reference!: string | null;
}

export function toTrait(row: TraitRow): Trait {
  return Object.assign(new Trait(), row);
}
