import { Args, Ctx, Query, Resolver } from "type-graphql";
import type { Context } from "../../context.ts";
import { Connection, decodeCursor, toConnection } from "../common/connection.ts";
import { connectionComplexity, pageSize } from "../common/pagination.args.ts";
import { toTaxon } from "../taxon/taxon.type.ts";
import { SearchTaxaArgs } from "./search.args.ts";
import { TaxonSearchHit } from "./search.type.ts";

export const TaxonSearchConnection = Connection(TaxonSearchHit, "TaxonSearch");

const isOffset = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;

@Resolver()
export class SearchResolver {
  @Query(() => TaxonSearchConnection, { complexity: connectionComplexity, description: "Ranked taxon name search: exact, then prefix, then typo-tolerant." })
  async searchTaxa(@Args(() => SearchTaxaArgs) args: SearchTaxaArgs, @Ctx() ctx: Context) {
    const limit = pageSize(args);
    const offset = args.after ? decodeCursor(args.after, isOffset) + 1 : 0;
    const hits = await ctx.services.taxa.search(args.query, args.rank ?? undefined, limit + 1, offset);
    for (const hit of hits) ctx.loaders.taxon.prime(hit.taxon.id, hit.taxon);
    return toConnection(
      hits.map((hit, i) => ({ hit, position: offset + i })),
      limit,
      ({ hit }) => Object.assign(new TaxonSearchHit(), { ...hit, taxon: toTaxon(hit.taxon) }),
      ({ position }) => position,
      // Counting every fuzzy match would cost a full scan; the count is of this page and the rest known so far.
      async () => offset + hits.length,
    );
  }
}
