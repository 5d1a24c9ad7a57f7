import { DatabaseActivity } from "./database-activity.ts";
import { runLoad, type LoadGeneratorName, type LoadResult, type LoadTarget } from "./load-generator.ts";
import { machineCpu, processCpuSplitMs, type ServerProcess } from "./processes.ts";

export interface Measured extends LoadResult {
  /** ServerSpec id. */
  server: string;
  repetition: number;
  /** CPU of the server's process per answered request (/proc), and its system (kernel) part. */
  serverCpuMsPerRequest: number;
  serverSystemCpuMsPerRequest: number;
  /** CPU of the benchmark database's backends per answered request. */
  postgresCpuMsPerRequest: number;
  /** This process's CPU per request, plus the load generator's own process when it has one (wrk). */
  loadGeneratorCpuMsPerRequest: number;
  /** Share of the machine's cores busy during the run, every process included. */
  machineBusy: number;
  /** The machine's state before the run's re-warm (lib/memory-latency.ts): ns per random read; set by the benchmark's loop. */
  memoryLatencyNs?: number;
}

export interface LoadSettings {
  generator: LoadGeneratorName;
  connections: number;
  durationSeconds: number;
  ids: readonly number[];
}

/** One measured run of `target` with CPU accounting of the server, PostgreSQL and this process. */
export async function measure(
  serverId: string,
  server: ServerProcess,
  target: LoadTarget,
  repetition: number,
  settings: LoadSettings,
  database: DatabaseActivity,
): Promise<Measured> {
  const server0 = processCpuSplitMs(server.pid);
  const pg0 = await database.cpuByBackend();
  const machine0 = machineCpu();
  const self0 = process.cpuUsage();
  const result = await runLoad(target, settings);
  const self = process.cpuUsage(self0);
  const machine1 = machineCpu();
  const server1 = processCpuSplitMs(server.pid);
  const pg1 = await database.cpuByBackend();
  const perRequest = (ms: number) => ms / Math.max(1, result.requests);
  return {
    ...result,
    server: serverId,
    repetition,
    serverCpuMsPerRequest: perRequest(server1.user + server1.system - server0.user - server0.system),
    serverSystemCpuMsPerRequest: perRequest(server1.system - server0.system),
    postgresCpuMsPerRequest: perRequest(DatabaseActivity.between(pg0, pg1)),
    loadGeneratorCpuMsPerRequest: perRequest((self.user + self.system) / 1000 + (result.generatorCpuMs ?? 0)),
    machineBusy: (machine1.busy - machine0.busy) / Math.max(1, machine1.total - machine0.total),
  };
}
