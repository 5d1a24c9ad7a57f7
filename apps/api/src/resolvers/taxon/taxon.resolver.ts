import { Args, Ctx, FieldResolver, Query, Resolver, Root } from "type-graphql";
import type { Context } from "../../context.ts";
import { requireRange } from "../../errors.ts";
import { MAX_K } from "../../limits.ts";
import { Connection, decodeCursor, toConnection } from "../common/connection.ts";
import { connectionComplexity, PaginationArgs, pageSize } from "../common/pagination.args.ts";
import { Image, toImage } from "../image/image.type.ts";
import { toTrait, Trait } from "../trait/trait.type.ts";
import { SimilarTaxaArgs, TaxonArgs } from "./taxon.args.ts";
import { RankCount, SimilarTaxon, Taxon, TaxonName, toTaxon, type TaxonRank } from "./taxon.type.ts";

export const TaxonConnection = Connection(Taxon, "Taxon");
export const ImageConnection = Connection(Image, "Image");

const isNameKey = (v: unknown): v is [string, number] =>
  Array.isArray(v) && v.length === 2 && typeof v[0] === "string" && Number.isInteger(v[1]);
const isImageKey = (v: unknown): v is [string, string] =>
  Array.isArray(v) && v.length === 2 && typeof v[0] === "string" && !Number.isNaN(Date.parse(v[0])) && typeof v[1] === "string";

@Resolver(() => Taxon)
export class TaxonResolver {
  @Query(() => Taxon, { nullable: true, description: "A taxon by id or by exact scientific name; null when unknown." })
  async taxon(@Args(() => TaxonArgs) args: TaxonArgs, @Ctx() ctx: Context): Promise<Taxon | null> {
    const row = await ctx.services.taxa.findOne(args.id, args.scientificName);
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
    const limit = pageSize(page);
    const after = page.after ? decodeCursor(page.after, isNameKey) : null;
    const rows = await ctx.loaders.children.load({
      owner: taxon.id,
      limit: limit + 1,
      after: after && { name: after[0], id: after[1] },
    });
    for (const row of rows) ctx.loaders.taxon.prime(row.id, row);
    return toConnection(rows, limit, toTaxon, (row) => [row.scientificName, row.id], async () => taxon.childCount);
  }

  @FieldResolver(() => [RankCount], { description: "Number of descendants at each rank." })
  async descendantCounts(@Root() taxon: Taxon, @Ctx() ctx: Context): Promise<RankCount[]> {
    const counts = await ctx.loaders.descendantCounts.load(taxon.id);
    return counts.map((c) => Object.assign(new RankCount(), { rank: c.rank as TaxonRank, count: c.count }));
  }

  @FieldResolver(() => ImageConnection, { complexity: connectionComplexity, description: "Images of this taxon and its descendants, newest first." })
  async images(@Root() taxon: Taxon, @Args(() => PaginationArgs) page: PaginationArgs, @Ctx() ctx: Context) {
    const limit = pageSize(page);
    const after = page.after ? decodeCursor(page.after, isImageKey) : null;
    const rows = await ctx.loaders.images.load({
      owner: taxon.id,
      limit: limit + 1,
      after: after && { createdAt: new Date(after[0]), id: after[1] },
    });
    for (const row of rows) ctx.loaders.image.prime(row.id, row);
    return toConnection(rows, limit, toImage, (row) => [row.createdAt.toISOString(), row.id], () => ctx.loaders.imageCount.load(taxon.id));
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
