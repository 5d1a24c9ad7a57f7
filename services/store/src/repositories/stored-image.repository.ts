import type { Pool } from "../db.ts";

/** What locates an image's bytes in the image file store (services/store/src/image-files.ts). */
export interface StoredImageRef {
  id: string;
  /** Null for an image known only by its metadata (no bytes were ever stored). */
  sha256: string | null;
  mimeType: string | null;
}

// One row per requested id, in request order (duplicates repeated); unknown ids get a row of nulls.
const BY_IDS = `SELECT i.id, i.sha256, i.mime_type AS "mimeType"
  FROM unnest($1::uuid[]) WITH ORDINALITY AS requested(id, position)
  LEFT JOIN image i ON i.id = requested.id
  ORDER BY requested.position`;

export class StoredImageRepository {
  constructor(private readonly pool: Pool) {}

  /**
   * The file reference of each id, aligned with `ids` (null where no image has that id). The ids must be
   * UUIDs: PostgreSQL rejects the whole statement otherwise, so callers check them first.
   */
  async findRefs(ids: readonly string[]): Promise<(StoredImageRef | null)[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.pool.query<{ id: string | null; sha256: string | null; mimeType: string | null }>(BY_IDS, [ids]);
    return rows.map((row) => (row.id === null ? null : { id: row.id, sha256: row.sha256, mimeType: row.mimeType }));
  }
}
