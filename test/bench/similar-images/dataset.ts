import { createHash } from "node:crypto";
import { BIOCLIP2_LIKE_GEOMETRY, TREE_SHAPE, type EmbeddingGeometry, type TreeShape } from "./geometry.ts";

/** Bump when the generator's output changes, so reused databases and cached ground truth are rebuilt. */
export const GENERATOR_VERSION = 1;

export interface DatasetSpec {
  rows: number;
  seed: number;
  geometry: EmbeddingGeometry;
  tree: TreeShape;
  generatorVersion: number;
}

export function datasetSpec(rows: number, seed: number): DatasetSpec {
  return { rows, seed, geometry: BIOCLIP2_LIKE_GEOMETRY, tree: TREE_SHAPE, generatorVersion: GENERATOR_VERSION };
}

/** Short stable fingerprint of a JSON-able value (dataset, query set). */
export function fingerprint(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, 16);
}
