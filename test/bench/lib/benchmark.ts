import type { BenchArgs } from "./args.ts";
import type { PostgresInfo } from "./machine.ts";
import type { Progress } from "./progress.ts";
import type { ResultTable } from "./table.ts";

export interface BenchContext {
  args: BenchArgs;
  /** `--quick`: a small smoke-test size that finishes in about a minute. */
  quick: boolean;
  progress: Progress;
}

export interface BenchReport {
  /** Appended to the result file name (`<name>.<variant>.json`), e.g. the data size. */
  variant?: string;
  /** Everything that decides the figures: sizes, seeds, settings. */
  parameters: Record<string, unknown>;
  /** Server facts, for benchmarks that use PostgreSQL. */
  postgres?: PostgresInfo;
  tables: ResultTable[];
  /** The full figures, machine-readable. */
  figures: unknown;
  notes?: string[];
}

/** What a `test/bench/<name>.bench.ts` file exports as default. */
export interface Benchmark {
  name: string;
  description: string;
  /** Option lines for `--help`. */
  options: string[];
  run(context: BenchContext): Promise<BenchReport>;
}
