import { loadAverage } from "../lib/machine.ts";
import { createHttpClients, EMBEDDING_DIM, imageFor, type ClientKind } from "./http-clients.ts";
import type { ImageInput } from "./image-inputs.ts";
import { runOffline, type InProcessEngine, type OfflineMode, type OfflineResult } from "./in-process-engine.ts";
import { scrapeMetrics, serviceWindow, type ServiceWindow } from "./prometheus.ts";
import { MeasurementWindow, runClosedLoop, scheduleWindow, type WindowOptions, type WindowSummary } from "./window.ts";
import { runWrkImages } from "./wrk-clients.ts";

/** The paths the benchmark measures. */
export type PathName = `offline ${OfflineMode}` | "in-process service" | "HTTP service";

export interface PhaseTiming extends WindowOptions {
  warmupMs: number;
  durationMs: number;
}

export interface PhaseResult {
  path: PathName;
  imagesPerSecond: number;
  images: number;
  seconds: number;
  loadAverageAtStart: [number, number, number];
  /** Closed-loop paths: request latency (ms). */
  latency?: WindowSummary["latency"];
  failures?: number;
  failureSamples?: string[];
  meanBatchSize: number;
  /**
   * Images per CPU-second of all the processes doing the work (the service and the load generator for
   * HTTP, this process otherwise): what the path costs, which other work on the machine distorts less
   * than throughput.
   */
  imagesPerCpuSecond: number;
  /** CPU of this (benchmark) process over the phase, in cores: the whole engine for in-process paths, the load generator for HTTP. */
  benchProcessCpuCores: number;
  offline?: OfflineResult;
  service?: ServiceWindow;
}

function cpuCores(start: NodeJS.CpuUsage, seconds: number): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6 / seconds;
}

export async function offlinePhase(engine: InProcessEngine, images: readonly ImageInput[], mode: OfflineMode, timing: PhaseTiming): Promise<PhaseResult> {
  const loadAverageAtStart = loadAverage();
  const result = await runOffline(engine, images, { mode, batch: engine.config.maxBatch, durationMs: timing.durationMs, warmupBatches: 1 });
  return {
    path: `offline ${mode}`,
    imagesPerSecond: result.imagesPerSecond,
    images: result.images,
    seconds: result.seconds,
    loadAverageAtStart,
    meanBatchSize: result.batch,
    benchProcessCpuCores: result.cpuCores,
    imagesPerCpuSecond: result.imagesPerSecond / result.cpuCores,
    offline: result,
  };
}

/** `clients` callers of ImageEmbedder.embed([one image]) in this process: the service's batching and worker hop without HTTP. */
export async function inProcessPhase(engine: InProcessEngine, images: readonly ImageInput[], clients: number, timing: PhaseTiming): Promise<PhaseResult> {
  const loadAverageAtStart = loadAverage();
  const window = new MeasurementWindow(timing);
  let cpu = process.cpuUsage();
  let batchesAtOpen = { ...engine.batchCounts };
  let batchesAtClose = batchesAtOpen;
  const loop = runClosedLoop(clients, window, async (client, sequence) => {
    try {
      const vectors = await engine.embedder.embed([imageFor(images, client, sequence).bytes]);
      return vectors.length === 1 ? { items: 1 } : { failure: `${vectors.length} vectors` };
    } catch (error) {
      return { failure: (error as Error).message };
    }
  });
  await scheduleWindow(window, timing.warmupMs, timing.durationMs, {
    onOpen: async () => {
      cpu = process.cpuUsage();
      batchesAtOpen = { ...engine.batchCounts };
    },
    onClose: async () => {
      batchesAtClose = { ...engine.batchCounts };
    },
  });
  const cores = cpuCores(cpu, window.seconds);
  await loop;
  const summary = window.summary();
  const batches = batchesAtClose.batches - batchesAtOpen.batches;
  return closedLoopResult("in-process service", summary, {
    loadAverageAtStart,
    meanBatchSize: batches > 0 ? (batchesAtClose.items - batchesAtOpen.items) / batches : Number.NaN,
    benchProcessCpuCores: cores,
    imagesPerCpuSecond: summary.itemsPerSecond / cores,
  });
}

/** What the clients of a closed-loop path saw over its window. */
type ClientView = Pick<WindowSummary, "itemsPerSecond" | "items" | "seconds" | "latency" | "failures" | "failureSamples">;

/** A closed-loop path's result: the clients' view of the window and what was measured around it. */
function closedLoopResult(
  path: PathName,
  view: ClientView,
  measured: Pick<PhaseResult, "loadAverageAtStart" | "meanBatchSize" | "benchProcessCpuCores" | "imagesPerCpuSecond" | "service">,
): PhaseResult {
  const { itemsPerSecond, items, seconds, latency, failures, failureSamples } = view;
  return { path, imagesPerSecond: itemsPerSecond, images: items, seconds, latency, failures, failureSamples, ...measured };
}

/** The HTTP path's result: batch sizes and the service's CPU from its /metrics over the window. */
function httpResult(view: ClientView, loadAverageAtStart: PhaseResult["loadAverageAtStart"], service: ServiceWindow, loadGeneratorCores: number): PhaseResult {
  return closedLoopResult("HTTP service", view, {
    loadAverageAtStart,
    meanBatchSize: service.meanBatchSize,
    benchProcessCpuCores: loadGeneratorCores,
    imagesPerCpuSecond: view.itemsPerSecond / (service.processCpuCores + loadGeneratorCores),
    service,
  });
}

/** `clients` HTTP clients against the service process; the service's own /metrics give batch sizes and its CPU. */
export async function httpPhase(
  baseUrl: string,
  images: readonly ImageInput[],
  clients: number,
  clientKind: ClientKind,
  timing: PhaseTiming,
  onWindow?: (window: { fromUs: number; toUs: number }) => void,
): Promise<PhaseResult> {
  if (clientKind === "wrk") return wrkHttpPhase(baseUrl, images, clients, timing, onWindow);
  const loadAverageAtStart = loadAverage();
  const http = createHttpClients(clientKind, baseUrl, images, clients);
  const window = new MeasurementWindow(timing);
  let cpu = process.cpuUsage();
  let before = new Map<string, number>();
  let after = before;
  let fromUs = 0;
  let toUs = 0;
  const nowUs = () => Number(process.hrtime.bigint() / 1000n);
  const loop = runClosedLoop(clients, window, http.request);
  await scheduleWindow(window, timing.warmupMs, timing.durationMs, {
    onOpen: async () => {
      before = await scrapeMetrics(baseUrl);
      cpu = process.cpuUsage();
      fromUs = nowUs();
    },
    onClose: async () => {
      toUs = nowUs();
      after = await scrapeMetrics(baseUrl);
    },
  });
  const cores = cpuCores(cpu, window.seconds);
  await loop;
  http.close();
  onWindow?.({ fromUs, toUs });
  return httpResult(window.summary(), loadAverageAtStart, serviceWindow(before, after, window.seconds), cores);
}

/**
 * The same phase with wrk as the clients: a warm-up run, then a measured run whose own duration is the window (the
 * service's /metrics scraped just before and after it). wrk's CPU and this process's count as the load generator's.
 */
async function wrkHttpPhase(
  baseUrl: string,
  images: readonly ImageInput[],
  clients: number,
  timing: PhaseTiming,
  onWindow?: (window: { fromUs: number; toUs: number }) => void,
): Promise<PhaseResult> {
  if (timing.completionSpan) throw new Error("the wrk client measures clock windows only: use --client binary with --window completions");
  const loadAverageAtStart = loadAverage();
  const seconds = (ms: number) => Math.max(1, Math.round(ms / 1000));
  await runWrkImages(baseUrl, images, clients, seconds(timing.warmupMs), EMBEDDING_DIM);
  const before = await scrapeMetrics(baseUrl);
  const cpu = process.cpuUsage();
  const nowUs = () => Number(process.hrtime.bigint() / 1000n);
  const fromUs = nowUs();
  const run = await runWrkImages(baseUrl, images, clients, seconds(timing.durationMs), EMBEDDING_DIM);
  const toUs = nowUs();
  const after = await scrapeMetrics(baseUrl);
  const used = process.cpuUsage(cpu);
  const cores = ((used.user + used.system) / 1000 + run.cpuMs) / 1000 / run.seconds;
  onWindow?.({ fromUs, toUs });
  return httpResult(run, loadAverageAtStart, serviceWindow(before, after, run.seconds), cores);
}
