import type { Progress } from "../lib/progress.ts";
import { median } from "../lib/stats.ts";
import { TorchWorker } from "./torch-worker.ts";

export interface CoretypeFigure {
  /** What OPENBLAS_CORETYPE was set to ("auto": unset, OpenBLAS detects the CPU). */
  setting: string;
  /** The kernel family OpenBLAS reports it picked. */
  corename: string;
  gflops: number[];
  medianGflops: number;
  bestGflops: number;
}

/**
 * float32 GEMM rate of torch (through OpenBLAS) under each OPENBLAS_CORETYPE, one fresh process per
 * measurement because OpenBLAS reads the variable once at load; rounds alternate the settings so
 * load from other work on the machine spreads over all of them.
 */
export async function surveyCoretypes(
  settings: readonly string[],
  rounds: number,
  workerOptions: { python: string; threads: number; ompWaitPolicy: string },
  progress: Progress,
): Promise<CoretypeFigure[]> {
  const figures = new Map<string, { corename: string; gflops: number[] }>();
  for (let round = 0; round < rounds; round++) {
    for (const setting of settings) {
      const worker = TorchWorker.start({ ...workerOptions, openblasCoretype: setting });
      try {
        const info = await worker.info();
        const entry = figures.get(setting) ?? { corename: info.blas.openblas.corename ?? "not OpenBLAS", gflops: [] };
        entry.gflops.push(info.blas.gemmGflops);
        figures.set(setting, entry);
      } finally {
        await worker.close();
      }
    }
    progress.log(`OPENBLAS_CORETYPE survey round ${round + 1}/${rounds}: ${[...figures].map(([s, f]) => `${s} ${f.gflops.at(-1)}`).join(", ")} GFLOP/s`);
  }
  return settings.map((setting) => {
    const { corename, gflops } = figures.get(setting)!;
    return { setting, corename, gflops, medianGflops: median(gflops), bestGflops: Math.max(...gflops) };
  });
}
