import { createWriteStream } from "node:fs";
import { stat } from "node:fs/promises";
import { once } from "node:events";
import type { ProgressCounter } from "../lib/progress.ts";
import { RANKS, SPECIES_DEPTH, syntheticTree } from "./synthetic-tree.ts";

export interface WrittenFile {
  path: string;
  /** Data rows (header excluded). */
  rows: number;
  bytes: number;
}

/** iNaturalist's column names; rank_level is iNaturalist's numeric level (70 kingdom … 10 species). */
export const PARENT_CHILD_HEADER = "parent_taxon_id,taxon_id,rank_level,name";
export const LINEAGE_HEADER = "id,kingdom,phylum,class,order,family,genus,species";

const CHUNK_BYTES = 1 << 16;

/** The synthetic tree as an iNaturalist-style parent/child CSV, streamed to `path`. */
export async function writeParentChildCsv(path: string, rows: number, seed: number, counter?: ProgressCounter): Promise<WrittenFile> {
  let written = 0;
  await writeLines(path, PARENT_CHILD_HEADER, (function* () {
    for (const row of syntheticTree(rows, seed)) {
      written++;
      if (written % 50_000 === 0) counter?.set(written);
      yield `${row.parentId ?? ""},${row.id},${RANKS[row.depth]!.level},${row.name}`;
    }
  })());
  counter?.finish();
  return { path, rows: written, bytes: (await stat(path)).size };
}

/**
 * The species of the same tree as a 7-rank lineage CSV (one row per species, its id in `id`):
 * what `taxa-lineage` reads. Higher taxa without species (cut branches) are not in it.
 */
export async function writeLineageCsv(path: string, treeRows: number, seed: number, counter?: ProgressCounter): Promise<WrittenFile> {
  let written = 0;
  let seen = 0;
  await writeLines(path, LINEAGE_HEADER, (function* () {
    for (const row of syntheticTree(treeRows, seed)) {
      seen++;
      if (seen % 50_000 === 0) counter?.set(seen);
      if (row.depth !== SPECIES_DEPTH) continue;
      written++;
      yield `${row.id},${row.lineage.join(",")}`;
    }
  })());
  counter?.finish();
  return { path, rows: written, bytes: (await stat(path)).size };
}

/** Names are letters and spaces only, so no field needs quoting. */
async function writeLines(path: string, header: string, lines: Iterable<string>): Promise<void> {
  const out = createWriteStream(path);
  const failed = once(out, "error").then(([error]) => Promise.reject(error as Error));
  failed.catch(() => undefined);
  let chunk = `${header}\n`;
  for (const line of lines) {
    chunk += `${line}\n`;
    if (chunk.length >= CHUNK_BYTES) {
      if (!out.write(chunk)) await Promise.race([once(out, "drain"), failed]);
      chunk = "";
    }
  }
  out.end(chunk);
  await Promise.race([once(out, "finish"), failed]);
}
