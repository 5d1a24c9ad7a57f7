import { Arg, Ctx, Int, Query, Resolver } from "type-graphql";
import type { TreeNodeRow } from "../../services/taxon.service.ts";
import type { Context } from "../../context.ts";
import { requireRange } from "../../errors.ts";
import { MAX_TREE_DEPTH, TREE_CHILDREN_PER_NODE } from "../../limits.ts";
import { toTaxon } from "../taxon/taxon.type.ts";
import { TreeNode } from "./tree.type.ts";

function toTreeNode(node: TreeNodeRow): TreeNode {
  return Object.assign(new TreeNode(), { taxon: toTaxon(node.taxon), children: node.children.map(toTreeNode) });
}

@Resolver()
export class TreeResolver {
  @Query(() => [TreeNode], {
    // Out-of-range depths are refused by the resolver with BAD_USER_INPUT, so they are priced as 1 here.
    complexity: ({ args, childComplexity }) => {
      const depth = typeof args.depth === "number" && args.depth >= 0 && args.depth <= MAX_TREE_DEPTH ? args.depth : 0;
      return 1 + childComplexity * 20 * Math.max(1, depth);
    },
    description: `Lazy tree browsing: the subtree below rootId (or the roots) to depth levels (max ${MAX_TREE_DEPTH}), up to ${TREE_CHILDREN_PER_NODE} children per node.`,
  })
  async tree(
    @Arg("rootId", () => Int, { nullable: true }) rootId: number | null,
    @Arg("depth", () => Int, { defaultValue: 1 }) depth: number,
    @Ctx() ctx: Context,
  ): Promise<TreeNode[]> {
    requireRange("depth", depth, 0, MAX_TREE_DEPTH);
    const nodes = await ctx.services.taxa.tree(rootId, depth, TREE_CHILDREN_PER_NODE);
    return nodes.map(toTreeNode);
  }
}
