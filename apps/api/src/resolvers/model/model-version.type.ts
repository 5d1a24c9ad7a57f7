import { Field, Float, Int, ObjectType } from "type-graphql";
import type { ModelVersionRow } from "@arbor/store";

@ObjectType({ simpleResolvers: true, description: "A model version; every embedding and prediction names one." })
export class ModelVersion {
  @Field(() => Int)
  id!: number;

  @Field(() => String)
  name!: string;

  @Field(() => String)
  version!: string;

  @Field(() => String, { description: "backbone or derived." })
  kind!: string;

  @Field(() => String, { description: "candidate, active, retired or failed." })
  status!: string;

  @Field(() => Boolean, { description: "True for the small stand-in model shipped for demos and tests: NOT BioCLIP 2." })
  isStandIn!: boolean;

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field(() => Int)
  dimension!: number;

  @Field(() => Float, { nullable: true })
  logitScale!: number | null;
}

export function toModelVersion(row: ModelVersionRow): ModelVersion {
  return Object.assign(new ModelVersion(), row);
}
