import DataLoader from "dataloader";
import type { ImageRow, Store, TaxonRow } from "@arbor/store";
import { byIdLoader, byOwnerLoader } from "./by-id.ts";
import { pageLoader } from "./page.loader.ts";

export type Loaders = ReturnType<typeof createLoaders>;

/** Fresh loaders per request, so nothing cached leaks between requests or users. */
export function createLoaders(store: Store) {
  return {
    taxon: byIdLoader<number, TaxonRow>((ids) => store.taxa.getByIds(ids), (row) => row.id),
    image: byIdLoader<string, ImageRow>((ids) => store.images.getByIds(ids), (row) => row.id),
    children: pageLoader<number, { name: string; id: number }, TaxonRow>(
      (parents, limit, after) => store.taxa.getChildren(parents, limit, after),
      (row) => row.parentId!,
    ),
    images: pageLoader<number, { createdAt: Date; id: string }, ImageRow & { ownerTaxonId: number }>(
      (taxa, limit, after) => store.images.getForTaxa(taxa, limit, after),
      (row) => row.ownerTaxonId,
    ),
    imageCount: new DataLoader<number, number>(async (ids) => {
      const counts = await store.images.countForTaxa(ids);
      return ids.map((id) => counts.get(id) ?? 0);
    }),
    descendantCounts: new DataLoader(async (ids: readonly number[]) => {
      const counts = await store.taxa.countDescendantsByRank(ids);
      return ids.map((id) => counts.get(id) ?? []);
    }),
    names: byOwnerLoader((ids: readonly number[]) => store.taxa.getNames(ids), (row) => row.taxonId),
    traits: byOwnerLoader((ids: readonly number[]) => store.traits.getForTaxa(ids), (row) => row.taxonId),
  };
}
