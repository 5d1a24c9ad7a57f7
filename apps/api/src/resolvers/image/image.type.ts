import { Field, Float, Int, ObjectType } from "type-graphql";
import { GraphQLDateTime } from "graphql-scalars";
import type { ImageRow } from "@arbor/store";

@ObjectType({ simpleResolvers: true, description: "A picture of an organism, with its source and rights." })
export class Image {
  @Field(() => String)
  id!: string;

  @Field(() => String, { nullable: true, description: "sha256 of the bytes, when Arbor holds them." })
  sha256!: string | null;

  @Field(() => String, { nullable: true })
  sourceUrl!: string | null;

  @Field(() => String, { nullable: true })
  source!: string | null;

  @Field(() => String, { nullable: true })
  sourceId!: string | null;

  @Field(() => String, { nullable: true })
  license!: string | null;

  @Field(() => String, { nullable: true })
  rightsHolder!: string | null;

  @Field(() => String, { nullable: true })
  publisher!: string | null;

  @Field(() => String, { nullable: true, description: "Darwin Core basisOfRecord." })
  basisOfRecord!: string | null;

  @Field(() => String, { nullable: true, description: "Darwin Core lifeStage." })
  lifeStage!: string | null;

  @Field(() => String, { nullable: true, description: "Darwin Core sex." })
  sex!: string | null;

  @Field(() => Int, { nullable: true })
  width!: number | null;

  @Field(() => Int, { nullable: true })
  height!: number | null;

  @Field(() => GraphQLDateTime)
  createdAt!: Date;

  taxonId!: number | null;
}

export function toImage(row: ImageRow): Image {
  return Object.assign(new Image(), row);
}

@ObjectType({ simpleResolvers: true })
export class SimilarImage {
  @Field(() => Image)
  image!: Image;

  @Field(() => Float, { description: "Cosine similarity to the query image (1 − cosine distance)." })
  similarity!: number;
}
