import type { GraphQLResolveInfo } from "graphql";
import { Args, Ctx, FieldResolver, Info, Query, Resolver, Root } from "type-graphql";
import type { Context } from "../../context.ts";
import { requireRange } from "../../errors.ts";
import { MAX_K } from "../../limits.ts";
import { Connection, toConnection } from "../common/connection.ts";
import { connectionComplexity, PaginationArgs } from "../common/pagination.args.ts";
import { Image, toImage } from "../image/image.type.ts";
import { toTrait, Trait } from "../trait/trait.type.ts";
import { SimilarTaxaArgs, TaxonArgs } from "./taxon.args.ts";
import { childrenPageKey, imagesPageKey } from "./taxon-page-keys.ts";
import { loadTaxonWithPage } from "./taxon-page.prefetch.ts";
import { RankCount, SimilarTaxon, Taxon, TaxonName, toTaxon, type TaxonRank } from "./taxon.type.ts";

export const TaxonConnection = Connection(Taxon, "Taxon");
export const ImageConnection = Connection(Image, "Image");

@Resolver(() => Taxon)
export class TaxonResolver {
  @Query(() => Taxon, { nullable: true, description: "A taxon by id or by exact scientific name; null when unknown." })
  async taxon(@Args(() => TaxonArgs) args: TaxonArgs, @Ctx() ctx: Context, @Info() info: GraphQLResolveInfo): Promise<Taxon | null> {
    const row = args.id != null && args.scientificName == null ? await loadTaxonWithPage(args.id, info, ctx) : await ctx.services.taxa.findOne(args.id, args.scientificName);
    if (row) ctx.loaders.taxon.prime(row.id, row);
    return row ? toTaxon(row) : null;
  }

  @FieldResolver(() => Taxon, { nullable: true })
  async parent(@Root() taxon: Taxon, @Ctx() ctx: Context): Promise<Taxon | null> {
    if (taxon.parentId === null) return null;
    const row = await ctx.loaders.taxon.load(taxon.parentId);
    return row ? toTaxon(row) : null;
  }

  @FieldResolver(() => [Taxon], { description: "Lineage, root first, parent last." })
  async ancestors(@Root() taxon: Taxon, @Ctx() ctx: Context): Promise<Taxon[]> {
    const rows = await ctx.loaders.taxon.loadMany(taxon.ancestorIds);
    return rows.flatMap((row) => (row && !(row instanceof Error) ? [toTaxon(row)] : []));
  }

  @FieldResolver(() => TaxonConnection, { complexity: connectionComplexity, description: "Direct children, by scientific name." })
  async children(@Root() taxon: Taxon, @Args(() => PaginationArgs) page: PaginationArgs, @Ctx() ctx: Context) {
    const key = childrenPageKey(taxon.id, page);
    const rows = await ctx.loaders.children.load(key);
    for (const row of rows) ctx.loaders.taxon.prime(row.id, row);
    return toConnection(rows, key.limit - 1, toTaxon, (row) => [row.scientificName, row.id], async () => taxon.childCount);
  }

  @FieldResolver(() => [RankCount], { description: "Number of descendants at each rank." })
  async descendantCounts(@Root() taxon: Taxon, @Ctx() ctx: Context): Promise<RankCount[]> {
    const counts = await ctx.loaders.descendantCounts.load(taxon.id);
    return counts.map((c) => Object.assign(new RankCount(), { rank: c.rank as TaxonRank, count: c.count }));
  }

  @FieldResolver(() => ImageConnection, { complexity: connectionComplexity, description: "Images of this taxon and its descendants, newest first." })
  async images(@Root() taxon: Taxon, @Args(() => PaginationArgs) page: PaginationArgs, @Ctx() ctx: Context) {
    const key = imagesPageKey(taxon.id, page);
    const rows = await ctx.loaders.images.load(key);
    for (const row of rows) ctx.loaders.image.prime(row.id, row);
    return toConnection(rows, key.limit - 1, toImage, (row) => [row.createdAt.toISOString(), row.id], (context) => context.loaders.imageCount.load(taxon.id));
  }

  @FieldResolver(() => [Trait])
  async traits(@Root() taxon: Taxon, @Ctx() ctx: Context): Promise<Trait[]> {
    return (await ctx.loaders.traits.load(taxon.id)).map(toTrait);
  }

  @FieldResolver(() => [TaxonName], { description: "Scientific name, synonyms and vernacular names." })
  async names(@Root() taxon: Taxon, @Ctx() ctx: Context): Promise<TaxonName[]> {
    return (await ctx.loaders.names.load(taxon.id)).map((row) => Object.assign(new TaxonName(), row));
  }

  @FieldResolver(() => [SimilarTaxon], {
    complexity: ({ args, childComplexity }) => 10 + childComplexity * (typeof args.k === "number" ? args.k : 10),
    description: "Taxa of the same rank whose image prototype (centroid of image embeddings) is nearest.",
  })
  async similarTaxa(@Root() taxon: Taxon, @Args(() => SimilarTaxaArgs) args: SimilarTaxaArgs, @Ctx() ctx: Context): Promise<SimilarTaxon[]> {
    const k = requireRange("k", args.k, 1, MAX_K);
    const hits = await ctx.services.taxa.similarTaxa(taxon.id, k, args.modelVersionId);
    const rows = await ctx.loaders.taxon.loadMany(hits.map((hit) => hit.taxonId));
    return hits.flatMap((hit, i) => {
      const row = rows[i];
      return row && !(row instanceof Error) ? [Object.assign(new SimilarTaxon(), { taxon: toTaxon(row), similarity: 1 - hit.distance })] : [];
    });
  }
}
