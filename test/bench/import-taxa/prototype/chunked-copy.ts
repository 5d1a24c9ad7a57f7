import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import copyStreams from "pg-copy-streams";
import type { PoolClient } from "@arbor/store/db.ts";
import { copyChunks } from "./copy-text.ts";

interface Column {
  name: string;
  type: string;
}

type BulkLoad = (this: unknown, client: PoolClient, table: string, columns: readonly Column[], rows: readonly unknown[][]) => Promise<void>;

/**
 * Prototype "chunked-copy": ImportRepository.bulkLoad streams one string per row into COPY
 * (Readable.from over a generator of lines), so a 5,000-row batch is 5,000 stream chunks, CopyData
 * messages and socket writes. This sends the same COPY text in ~256 KB chunks. The PGlite path
 * (no COPY) is left to the original method.
 */
export function applyChunkedCopy(prototype: Record<string, unknown>): void {
  const original = prototype.bulkLoad as BulkLoad;
  const supportsCopy = prototype.supportsCopy as (this: unknown, client: PoolClient) => Promise<boolean>;
  prototype.bulkLoad = async function (this: unknown, client: PoolClient, table: string, columns: readonly Column[], rows: readonly unknown[][]) {
    if (rows.length === 0 || !(await supportsCopy.call(this, client))) return original.call(this, client, table, columns, rows);
    const stream = client.query(copyStreams.from(`COPY ${table} (${columns.map((c) => c.name).join(", ")}) FROM STDIN`));
    await pipeline(Readable.from(copyChunks(rows)), stream);
  };
}
