import type { LineageValues } from "./lineage.ts";
import { LINEAGE_RANKS } from "./ranks.ts";

/** One image with its embedding, from the emb-explorer Parquet or the raw float32 + metadata pair. */
export interface EmbeddingRecord {
  lineage: LineageValues;
  commonName: string | null;
  image: {
    source: string;
    sourceId: string;
    sourceUrl: string | null;
    publisher: string | null;
    basisOfRecord: string | null;
    license: string | null;
    rightsHolder: string | null;
  };
  embedding: Float32Array;
}

/** Images of TreeOfLife-200M that name no source dataset. */
export const DEFAULT_IMAGE_SOURCE = "treeoflife-200m";

/** Checks length and finiteness; returns a message naming the bad element, or null. */
export function checkEmbedding(values: ArrayLike<number>, dimension: number, field: string): { field: string; message: string } | null {
  if (values.length !== dimension) return { field, message: `dimension ${values.length}, expected ${dimension}` };
  for (let at = 0; at < values.length; at++) {
    if (!Number.isFinite(values[at])) return { field: `${field}[${at}]`, message: `${values[at]} is not a finite number` };
  }
  return null;
}

/** The image and lineage fields every embedding format shares, from a column getter. */
export function recordFields(get: (column: string) => string | null): Omit<EmbeddingRecord, "embedding"> {
  const text = (column: string) => {
    const value = get(column)?.trim();
    return value ? value : null;
  };
  const lineage: LineageValues = {};
  for (const rank of LINEAGE_RANKS) lineage[rank] = text(rank) ?? "";
  return {
    lineage,
    commonName: text("common_name"),
    image: {
      source: text("source_dataset") ?? DEFAULT_IMAGE_SOURCE,
      sourceId: text("uuid") ?? "",
      sourceUrl: text("identifier"),
      publisher: text("publisher"),
      basisOfRecord: text("basisOfRecord") ?? text("basis_of_record"),
      license: text("license") ?? text("licence"),
      rightsHolder: text("rights_holder") ?? text("rightsHolder") ?? text("owner"),
    },
  };
}
