/** What a measured step cost this process: memory at its start and at its peak, and CPU time. */
export interface ProcessUsage {
  /** Resident set size when the meter started (Node + tsx + modules), MiB. */
  startRssMiB: number;
  /** process.resourceUsage().maxRSS of the whole process, MiB. */
  maxRssMiB: number;
  /** Highest V8 heapUsed, sampled every 100 ms, MiB. */
  peakHeapUsedMiB: number;
  /** CPU time of this process while the meter ran, user + system, ms. */
  cpuMs: number;
}

const HEAP_SAMPLE_MS = 100;

/** Starts measuring now; `stop()` ends the heap sampling (again is harmless) and reads the figures. */
export function startUsageMeter(): { stop(): ProcessUsage } {
  let peakHeap = process.memoryUsage().heapUsed;
  const sampler = setInterval(() => (peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed)), HEAP_SAMPLE_MS);
  const startRss = process.memoryUsage.rss();
  const startCpu = process.resourceUsage();
  return {
    stop() {
      clearInterval(sampler);
      const now = process.resourceUsage();
      return {
        startRssMiB: Math.round(startRss / 2 ** 20),
        maxRssMiB: Math.round(now.maxRSS / 1024),
        peakHeapUsedMiB: Math.round(peakHeap / 2 ** 20),
        // resourceUsage reports microseconds.
        cpuMs: (now.userCPUTime - startCpu.userCPUTime + now.systemCPUTime - startCpu.systemCPUTime) / 1000,
      };
    },
  };
}
