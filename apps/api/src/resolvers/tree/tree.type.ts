import { Field, ObjectType } from "type-graphql";
import { Taxon } from "../taxon/taxon.type.ts";

@ObjectType({ simpleResolvers: true, description: "A node of a tree() expansion; childCount on its taxon tells what is below the last level." })
export class TreeNode {
  @Field(() => Taxon)
  taxon!: Taxon;

  @Field(() => [TreeNode])
  children!: TreeNode[];
}
