import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import type pg from "pg";

export interface MachineInfo {
  hostname: string;
  platform: string;
  kernel: string;
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  node: string;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    platform: `${os.platform()} ${os.arch()}`,
    kernel: os.release(),
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
  };
}

/** 1, 5 and 15 minute load averages: other work on the machine skews timings, so runs record it. */
export function loadAverage(): [number, number, number] {
  const [one, five, fifteen] = os.loadavg();
  return [round2(one!), round2(five!), round2(fifteen!)];
}

export interface PostgresInfo {
  version: string;
  pgvector: string | null;
  settings: Record<string, string>;
}

const REPORTED_SETTINGS = [
  "shared_buffers",
  "effective_cache_size",
  "work_mem",
  "maintenance_work_mem",
  "max_parallel_workers",
  "max_parallel_workers_per_gather",
  "max_parallel_maintenance_workers",
  "jit",
  "random_page_cost",
];

/** Server version, pgvector version (in the connected database) and the settings that move timings. */
export async function postgresInfo(client: pg.Pool | pg.PoolClient | pg.Client): Promise<PostgresInfo> {
  const version = await client.query<{ v: string }>("SELECT current_setting('server_version') AS v");
  const vector = await client.query<{ v: string }>("SELECT extversion AS v FROM pg_extension WHERE extname = 'vector'");
  const settings = await client.query<{ name: string; value: string }>(
    "SELECT name, current_setting(name) AS value FROM pg_settings WHERE name = ANY($1) ORDER BY name",
    [REPORTED_SETTINGS],
  );
  return {
    version: version.rows[0]!.v,
    pgvector: vector.rows[0]?.v ?? null,
    settings: Object.fromEntries(settings.rows.map((row) => [row.name, row.value])),
  };
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

let clockTicks: number | undefined;

/**
 * CPU time (user + system, milliseconds) a local process has used, from /proc/<pid>/stat; undefined
 * where /proc is unavailable. A server backend's CPU time per query is a load-independent figure
 * next to wall-clock latency, which other work on a shared machine inflates.
 */
export function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields[0] is field 3 (state): utime and stime are fields 14 and 15.
    const ticks = Number(fields[11]) + Number(fields[12]);
    clockTicks ??= Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    return (ticks * 1000) / clockTicks;
  } catch {
    return undefined;
  }
}
