/**
 * Worker thread of the exact ground truth: regenerates rows [rowStart, rowEnd) of the data set
 * and keeps, per query, the `keep` most similar rows (float64 dot products of the float32 unit
 * vectors the database holds; cosine distance = 1 − dot).
 */
import { parentPort, workerData } from "node:worker_threads";
import { EmbeddingGenerator } from "./embeddings.ts";
import type { DatasetSpec } from "./dataset.ts";
import { SyntheticTaxonomy } from "./taxonomy.ts";

export interface GroundTruthTask {
  kind: "similar-images-ground-truth";
  spec: DatasetSpec;
  rowStart: number;
  rowEnd: number;
  keep: number;
  groups: Array<{ queryRows: number[]; withinTaxonId: number | null }>;
}

export interface GroundTruthPartial {
  /** Per group, per query: `keep` rows and similarities, best first (−1 / −Infinity pad). */
  rows: Int32Array[][];
  similarities: Float64Array[][];
}

export function nearestRows(task: GroundTruthTask): GroundTruthPartial {
  const taxonomy = new SyntheticTaxonomy(task.spec.seed, task.spec.tree);
  const generator = new EmbeddingGenerator(taxonomy, task.spec.geometry);
  const D = generator.dimension;
  const K = task.keep;

  const groups = task.groups.map((group) => {
    const queries = new Float32Array(group.queryRows.length * D);
    group.queryRows.forEach((row, j) => generator.vector(row, queries, j * D));
    const allowed =
      group.withinTaxonId === null
        ? null
        : Uint8Array.from(taxonomy.speciesTaxonIds, (taxonId) => (taxonomy.isWithin(taxonId, group.withinTaxonId!) ? 1 : 0));
    return {
      queryRows: group.queryRows,
      queries,
      allowed,
      rows: group.queryRows.map(() => new Int32Array(K).fill(-1)),
      sims: group.queryRows.map(() => new Float64Array(K).fill(Number.NEGATIVE_INFINITY)),
    };
  });

  const x = new Float32Array(D);
  let lastReport = performance.now();
  for (let row = task.rowStart; row < task.rowEnd; row++) {
    const species = generator.speciesOfRow(row);
    let needed = false;
    for (const group of groups) if (group.allowed === null || group.allowed[species] === 1) needed = true;
    if (!needed) continue;
    generator.vector(row, x);
    for (const group of groups) {
      if (group.allowed !== null && group.allowed[species] !== 1) continue;
      const q = group.queries;
      for (let j = 0; j < group.queryRows.length; j++) {
        const base = j * D;
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        for (let d = 0; d < D; d += 4) {
          s0 += x[d]! * q[base + d]!;
          s1 += x[d + 1]! * q[base + d + 1]!;
          s2 += x[d + 2]! * q[base + d + 2]!;
          s3 += x[d + 3]! * q[base + d + 3]!;
        }
        const sim = s0 + s1 + s2 + s3;
        const sims = group.sims[j]!;
        if (sim <= sims[K - 1]! || row === group.queryRows[j]) continue;
        const rows = group.rows[j]!;
        let at = K - 1;
        while (at > 0 && sims[at - 1]! < sim) {
          sims[at] = sims[at - 1]!;
          rows[at] = rows[at - 1]!;
          at--;
        }
        sims[at] = sim;
        rows[at] = row;
      }
    }
    const now = performance.now();
    if (now - lastReport > 2_000) {
      lastReport = now;
      parentPort?.postMessage({ type: "progress", done: row + 1 - task.rowStart });
    }
  }
  return { rows: groups.map((g) => g.rows), similarities: groups.map((g) => g.sims) };
}

// Only when started as this worker (test runners may load the module inside their own workers).
if (parentPort && (workerData as GroundTruthTask | undefined)?.kind === "similar-images-ground-truth") {
  const partial = nearestRows(workerData as GroundTruthTask);
  parentPort.postMessage({ type: "done", partial });
}
