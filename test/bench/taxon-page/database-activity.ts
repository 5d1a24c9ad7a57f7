import type pg from "pg";
import { processCpuMs } from "./processes.ts";

/**
 * PostgreSQL work done for one database: the CPU time of the backends connected to it (found in
 * pg_stat_activity, read from /proc), so other sessions on the shared server are not counted.
 */
export class DatabaseActivity {
  constructor(
    private readonly monitor: pg.Pool,
    private readonly database: string,
  ) {}

  /** CPU milliseconds of each backend of the database, by pid. */
  async cpuByBackend(): Promise<Map<number, number>> {
    const { rows } = await this.monitor.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
      [this.database],
    );
    const out = new Map<number, number>();
    for (const { pid } of rows) {
      try {
        out.set(pid, processCpuMs(pid));
      } catch {
        // the backend ended in between
      }
    }
    return out;
  }

  /** CPU used between two snapshots; backends that ended in between are missed (an undercount, never negative). */
  static between(before: Map<number, number>, after: Map<number, number>): number {
    let total = 0;
    for (const [pid, ms] of after) total += Math.max(0, ms - (before.get(pid) ?? 0));
    return total;
  }

  /**
   * Waits until no statement of the database is running: a server whose clients timed out keeps
   * executing their queued queries, which would otherwise load the next server's run.
   */
  async waitUntilIdle(timeoutMs: number): Promise<{ waitedMs: number; idle: boolean }> {
    const start = performance.now();
    while (true) {
      const { rows } = await this.monitor.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND state = 'active' AND pid <> pg_backend_pid()",
        [this.database],
      );
      const waitedMs = performance.now() - start;
      if (rows[0]!.n === 0) return { waitedMs, idle: true };
      if (waitedMs > timeoutMs) return { waitedMs, idle: false };
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}
