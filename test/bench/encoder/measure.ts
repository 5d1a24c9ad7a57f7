import { setTimeout as sleep } from "node:timers/promises";
import { loadAverage } from "../lib/machine.ts";
import type { Progress } from "../lib/progress.ts";
import { median } from "../lib/stats.ts";
import { centredRowCosines, maxPairwiseCosine, rowCosines, summarizeCosines, type CosineSummary } from "./cosine.ts";

/** One way of running an encoder on the phase's input. */
export interface Contender {
  key: string;
  runtime: "PyTorch" | "ONNX Runtime";
  precision: string;
  /** One forward pass: the model's own time in milliseconds, and the embeddings [batch, dim]. */
  run(): Promise<{ ms: number; output: Float32Array }>;
}

export interface PhaseSettings {
  encoder: "image" | "text";
  batch: number;
  dim: number;
  warmup: number;
  iterations: number;
  /** Pause before each timed call, so the previous runtime's spinning threads have gone idle. */
  settleMs: number;
  /** Key of the contender other precisions are also compared with (ONNX Runtime fp32). */
  referenceKey?: string;
}

export interface ContenderResult {
  key: string;
  runtime: string;
  precision: string;
  timesMs: number[];
  medianMs: number;
  minMs: number;
  /** batch / median time. */
  itemsPerSecond: number;
  /** Median over rounds of anchor time / this time in the same round: robust to load that changes between rounds. */
  speedup: number;
  /** Anchor median / this median, for comparison with `speedup`. */
  speedupOfMedians: number;
  cosineToAnchor: CosineSummary;
  cosineToReference: CosineSummary | null;
  /** The same after removing the batch mean (null for batch 1): only the input-dependent part. */
  centredCosineToAnchor: CosineSummary | null;
  centredCosineToReference: CosineSummary | null;
}

export interface PhaseResult {
  encoder: "image" | "text";
  batch: number;
  warmup: number;
  iterations: number;
  anchor: string;
  /** Largest cosine between two inputs' anchor embeddings: near 1 means the plain cosines above say little. */
  anchorMaxPairwiseCosine: number | null;
  loadAverage: { start: [number, number, number]; end: [number, number, number] };
  contenders: ContenderResult[];
}

/**
 * Times the contenders interleaved: after `warmup` untimed calls each, every round runs each
 * contender once, starting one place further along the list each round, so none is always first
 * after a pause or always right after PyTorch. The first contender is the anchor.
 */
export async function measurePhase(contenders: readonly Contender[], settings: PhaseSettings, progress: Progress): Promise<PhaseResult> {
  const anchor = contenders[0];
  if (!anchor) throw new Error("no contenders");
  const label = `${settings.encoder} batch ${settings.batch}`;
  const start = loadAverage();
  const outputs = new Map<string, Float32Array>();
  for (const contender of contenders) {
    for (let i = 0; i < settings.warmup; i++) {
      const { ms, output } = await contender.run();
      outputs.set(contender.key, output);
      progress.log(`${label}: warm-up ${contender.key} ${ms.toFixed(0)} ms`);
    }
  }
  const times = new Map<string, number[]>(contenders.map((c) => [c.key, []]));
  for (let round = 0; round < settings.iterations; round++) {
    const line: string[] = [];
    for (let k = 0; k < contenders.length; k++) {
      const contender = contenders[(round + k) % contenders.length]!;
      await sleep(settings.settleMs);
      const { ms, output } = await contender.run();
      times.get(contender.key)!.push(ms);
      outputs.set(contender.key, output);
      line.push(`${contender.key} ${ms.toFixed(0)}`);
    }
    progress.log(`${label}: round ${round + 1}/${settings.iterations} (ms): ${line.join(", ")}; load ${loadAverage()[0]}`);
  }

  const anchorTimes = times.get(anchor.key)!;
  const anchorOutput = outputs.get(anchor.key)!;
  const referenceOutput = settings.referenceKey ? outputs.get(settings.referenceKey) : undefined;
  const results = contenders.map((contender): ContenderResult => {
    const ms = times.get(contender.key)!;
    const output = outputs.get(contender.key)!;
    const medianMs = median(ms);
    const compareReference = referenceOutput !== undefined && contender.key !== settings.referenceKey && contender.key !== anchor.key;
    const centredToAnchor = centredRowCosines(anchorOutput, output, settings.dim);
    const centredToReference = compareReference ? centredRowCosines(referenceOutput, output, settings.dim) : null;
    return {
      key: contender.key,
      runtime: contender.runtime,
      precision: contender.precision,
      timesMs: ms.map((t) => Math.round(t * 10) / 10),
      medianMs,
      minMs: Math.min(...ms),
      itemsPerSecond: (settings.batch * 1000) / medianMs,
      speedup: median(ms.map((t, round) => anchorTimes[round]! / t)),
      speedupOfMedians: median(anchorTimes) / medianMs,
      cosineToAnchor: summarizeCosines(rowCosines(anchorOutput, output, settings.dim)),
      cosineToReference: compareReference ? summarizeCosines(rowCosines(referenceOutput, output, settings.dim)) : null,
      centredCosineToAnchor: centredToAnchor && summarizeCosines(centredToAnchor),
      centredCosineToReference: centredToReference && summarizeCosines(centredToReference),
    };
  });
  return {
    encoder: settings.encoder,
    batch: settings.batch,
    warmup: settings.warmup,
    iterations: settings.iterations,
    anchor: anchor.key,
    anchorMaxPairwiseCosine: maxPairwiseCosine(anchorOutput, settings.dim),
    loadAverage: { start, end: loadAverage() },
    contenders: results,
  };
}
