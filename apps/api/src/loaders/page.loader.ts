import DataLoader from "dataloader";

export interface PageKey<Owner, After> {
  owner: Owner;
  /** Rows to fetch (page size + 1, so the page knows whether more exist). */
  limit: number;
  after: After | null;
}

/**
 * Loads one page per owner (children of each taxon, images of each taxon, …). Keys asking for the
 * same page window share one statement, so a list of N taxa costs one query, not N.
 */
export function pageLoader<Owner, After, Row>(
  fetch: (owners: Owner[], limit: number, after: After | null) => Promise<Row[]>,
  ownerOf: (row: Row) => Owner,
): DataLoader<PageKey<Owner, After>, Row[], string> {
  return new DataLoader<PageKey<Owner, After>, Row[], string>(
    async (keys) => {
      const groups = new Map<string, PageKey<Owner, After>[]>();
      for (const key of keys) {
        const window = JSON.stringify([key.limit, key.after]);
        groups.set(window, [...(groups.get(window) ?? []), key]);
      }
      const results = new Map<PageKey<Owner, After>, Row[]>();
      await Promise.all(
        [...groups.values()].map(async (group) => {
          const rows = await fetch(group.map((key) => key.owner), group[0]!.limit, group[0]!.after);
          for (const key of group) results.set(key, rows.filter((row) => ownerOf(row) === key.owner));
        }),
      );
      return keys.map((key) => results.get(key)!);
    },
    { cacheKeyFn: (key) => JSON.stringify([key.owner, key.limit, key.after]) },
  );
}
