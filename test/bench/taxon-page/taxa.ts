import type pg from "pg";
import { Random } from "../lib/prng.ts";
import { CHILDREN_PAGE, IMAGES_PAGE } from "./page.ts";

export interface BenchTaxa {
  /** Genera that qualify. */
  candidates: number;
  /** The seeded sample, in seeded order: the load generator walks it. */
  ids: number[];
  meanChildren: number;
  meanSubtreeImages: number;
  meanTraits: number;
}

const STREAM_SAMPLE = 21;

/**
 * Benchmark taxa: genera with ≥ 20 species (a full children page), ≥ 12 images in their subtree
 * (a full image page) and traits.
 */
export async function selectBenchTaxa(pool: pg.Pool, sample: number, seed: number): Promise<BenchTaxa> {
  const { rows } = await pool.query<{ id: number; images: number; traits: number; children: number }>(
    `WITH subtree_images AS (
       SELECT a.id, count(*)::int AS n FROM image i JOIN taxon s ON s.id = i.taxon_id
       CROSS JOIN LATERAL unnest(s.ancestor_ids || s.id) AS a(id) GROUP BY a.id)
     SELECT g.id, si.n AS images, g.child_count AS children,
       (SELECT count(*)::int FROM trait r WHERE r.taxon_id = g.id) AS traits
     FROM taxon g JOIN subtree_images si ON si.id = g.id
     WHERE g.rank = 'genus' AND g.child_count >= $1 AND si.n >= $2 AND EXISTS (SELECT 1 FROM trait r WHERE r.taxon_id = g.id)
     ORDER BY g.id`,
    [CHILDREN_PAGE, IMAGES_PAGE],
  );
  if (rows.length === 0) throw new Error("no genus qualifies as a benchmark taxon page; is the dataset loaded?");
  const picked = new Random(seed, STREAM_SAMPLE).shuffle([...rows]).slice(0, sample);
  const mean = (pick: (row: (typeof rows)[number]) => number) => picked.reduce((sum, row) => sum + pick(row), 0) / picked.length;
  return {
    candidates: rows.length,
    ids: picked.map((row) => row.id),
    meanChildren: mean((row) => row.children),
    meanSubtreeImages: mean((row) => row.images),
    meanTraits: mean((row) => row.traits),
  };
}
