import {
  JsSpeciesScorer,
  NativeSpeciesScorer,
  OrtSpeciesScorer,
  RANKS,
  SpeciesIndex,
  TreeOfLifeClassifier,
  type ClassifyResult,
  type ScoredChunk,
  type SpeciesScorer,
} from "../../../../services/inference/src/classify/index.ts";
import type { Dataset } from "./synthetic-dataset.ts";
import { GROUP_RANKS, groupName } from "./synthetic-tree.ts";
import type { Top1 } from "./torch-head.ts";

export const ENGINE_SCORERS = ["native", "ort", "js"] as const;
export type EngineScorerName = (typeof ENGINE_SCORERS)[number];

export interface EngineHead {
  classifier: TreeOfLifeClassifier;
  scorer: SpeciesScorer;
  index: SpeciesIndex;
  logitScale: number;
  buildSeconds: number;
}

/**
 * Arbor's classification head over the data set: a SpeciesIndex of the species vectors (which takes
 * ownership of the Float32Array: no copy) with synthetic names that sort in position order, and the
 * TreeOfLifeClassifier with the chosen screening scorer.
 */
export function openEngineHead(dataset: Dataset, options: { scorer: EngineScorerName; threads: number; logitScale: number; tolerance?: number }): EngineHead {
  const started = performance.now();
  const { groupOf, groupCounts, species } = dataset.tree;
  const names = GROUP_RANKS.map((_, r) => Array.from({ length: groupCounts[r]! }, (_, g) => groupName(r, g, groupCounts[r]!)));
  const lineages = new Array<string[]>(species);
  for (let p = 0; p < species; p++) {
    const lineage = GROUP_RANKS.map((_, r) => names[r]![groupOf[r]![p]!]!);
    lineage.push(groupName(6, p, species));
    lineages[p] = lineage;
  }
  const index = SpeciesIndex.fromColumns({ vectors: dataset.vectors, lineages, commonNames: new Array<string>(species).fill("") }, { dim: dataset.header.dim });
  const scorer =
    options.scorer === "native"
      ? new NativeSpeciesScorer({ threads: options.threads })
      : options.scorer === "ort"
        ? new OrtSpeciesScorer({ intraOpNumThreads: options.threads })
        : new JsSpeciesScorer();
  const classifier = new TreeOfLifeClassifier(index, { logitScale: options.logitScale, scorer, ...(options.tolerance ? { tolerance: options.tolerance } : {}) });
  return { classifier, scorer, index, logitScale: options.logitScale, buildSeconds: (performance.now() - started) / 1000 };
}

/** Group ids (kingdom … genus) and species position of each rank's top prediction, read back from the synthetic names. */
export function top1Of(result: ClassifyResult): Top1 {
  return RANKS.map((rank, r) => {
    const row = result.predictions[rank]?.[0] as Record<string, unknown> | undefined;
    const name = row?.[r === 6 ? "species_epithet" : rank];
    if (typeof name !== "string") throw new Error(`no ${rank} prediction in the engine's result`);
    return Number(name.slice(1));
  });
}

export interface EngineRun {
  batchMs: number[];
  top1: Top1[];
  /** Per query: whether the engine certified the top-1 at every rank against float64 (`exactness.certified`), and how many species it rescored. */
  certifiedAll: boolean[];
  rescored: number[];
}

/** Queries [start, start + count) in batches through classify(…, { rank: 'all', k }). */
export async function runEngineHead(
  head: EngineHead,
  dataset: Dataset,
  batch: number,
  start: number,
  count: number,
  k: number,
  onBatch?: (done: number) => void,
): Promise<EngineRun> {
  const dim = dataset.header.dim;
  const out: EngineRun = { batchMs: [], top1: [], certifiedAll: [], rescored: [] };
  for (let b0 = start; b0 < start + count; b0 += batch) {
    const b1 = Math.min(start + count, b0 + batch);
    const embeddings = Array.from({ length: b1 - b0 }, (_, i) => dataset.queries.subarray((b0 + i) * dim, (b0 + i + 1) * dim));
    const t0 = performance.now();
    const results = await head.classifier.classify(embeddings, { rank: "all", k });
    out.batchMs.push(performance.now() - t0);
    for (const result of results) {
      out.top1.push(top1Of(result));
      out.certifiedAll.push(Object.values(result.exactness.certified).every(Boolean));
      out.rescored.push(result.exactness.rescored);
    }
    onBatch?.(b1 - start);
  }
  return out;
}

/** The screening pass alone, as classify() drives it (every chunk of every species, one batch), without the fold. */
export async function screenOnly(head: EngineHead, dataset: Dataset, start: number, count: number, k: number): Promise<{ msPerImage: number; chunks: number }> {
  const dim = dataset.header.dim;
  const queries = new Float64Array(count * dim);
  for (let i = 0; i < count * dim; i++) queries[i] = dataset.queries[start * dim + i]!;
  const { size } = head.index;
  const rows = head.scorer.chunkRows;
  // What classify(…, { rank: 'all', k }) asks the scorer to track per query.
  const topK = Math.min(k, size) + 1;
  const pass = async (): Promise<number> => {
    const scored: ScoredChunk[] = [];
    for (let s = 0; s < size; s += rows) scored.push(await head.scorer.score(head.index, queries, count, Int32Array.of(s, Math.min(size, s + rows)), head.logitScale, topK));
    // As classify() does at the end of a call: the buffers go back to the scorer for the next pass.
    head.scorer.recycle?.(scored);
    return scored.length;
  };
  // The first pass warms up (an ONNX Runtime graph is created on first use; buffers are allocated), the second is timed.
  await pass();
  const t0 = performance.now();
  const chunks = await pass();
  return { msPerImage: (performance.now() - t0) / count, chunks };
}
