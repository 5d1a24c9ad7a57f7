import DataLoader from "dataloader";

/** A loader of rows by id: one `WHERE id = ANY(...)` per tick, results in key order. */
export function byIdLoader<K, Row>(fetch: (ids: readonly K[]) => Promise<Row[]>, idOf: (row: Row) => K): DataLoader<K, Row | null> {
  return new DataLoader<K, Row | null>(async (ids) => {
    const rows = await fetch(ids);
    const byId = new Map(rows.map((row) => [idOf(row), row]));
    return ids.map((id) => byId.get(id) ?? null);
  });
}

/** A loader of per-owner lists (e.g. traits of each taxon). */
export function byOwnerLoader<K, Row>(fetch: (ids: readonly K[]) => Promise<Row[]>, ownerOf: (row: Row) => K): DataLoader<K, Row[]> {
  return new DataLoader<K, Row[]>(async (ids) => {
    const rows = await fetch(ids);
    const byOwner = new Map<K, Row[]>(ids.map((id) => [id, []]));
    for (const row of rows) byOwner.get(ownerOf(row))?.push(row);
    return ids.map((id) => byOwner.get(id)!);
  });
}
