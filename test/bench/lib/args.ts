/** Command-line options of one benchmark run: `--key value`, `--key=value` and bare `--flag`. */
export class BenchArgs {
  private readonly values = new Map<string, string | true>();
  private readonly read = new Set<string>();

  constructor(argv: readonly string[]) {
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i]!;
      if (!arg.startsWith("--")) throw new BenchUsageError(`unexpected argument '${arg}' (options start with --)`);
      const eq = arg.indexOf("=");
      if (eq > 0) {
        this.values.set(arg.slice(2, eq), arg.slice(eq + 1));
      } else if (i + 1 < argv.length && !argv[i + 1]!.startsWith("--")) {
        this.values.set(arg.slice(2), argv[++i]!);
      } else {
        this.values.set(arg.slice(2), true);
      }
    }
  }

  flag(name: string): boolean {
    this.read.add(name);
    const value = this.values.get(name);
    if (value === undefined) return false;
    if (value === true || value === "true") return true;
    if (value === "false") return false;
    throw new BenchUsageError(`--${name} is a flag; got '${value}'`);
  }

  string(name: string, fallback: string): string {
    this.read.add(name);
    const value = this.values.get(name);
    if (value === undefined) return fallback;
    if (value === true) throw new BenchUsageError(`--${name} needs a value`);
    return value;
  }

  /** Accepts 100000, 100k, 1m, 1_000_000. */
  count(name: string, fallback: number): number {
    const text = this.string(name, String(fallback));
    const value = parseCount(text);
    if (value === undefined) throw new BenchUsageError(`--${name} must be a non-negative count (e.g. 1000, 100k, 1m); got '${text}'`);
    return value;
  }

  counts(name: string, fallback: readonly number[]): number[] {
    return this.list(name, fallback, parseCount, "counts");
  }

  /** A comma-separated list of positive decimals, e.g. 30,5,1,0.1. */
  decimals(name: string, fallback: readonly number[]): number[] {
    return this.list(name, fallback, (text) => (/^\d+(\.\d+)?$/.test(text) && Number(text) > 0 ? Number(text) : undefined), "positive numbers");
  }

  private list(name: string, fallback: readonly number[], parse: (text: string) => number | undefined, what: string): number[] {
    const text = this.string(name, fallback.join(","));
    return text.split(",").map((part) => {
      const value = parse(part.trim());
      if (value === undefined) throw new BenchUsageError(`--${name} must be a comma-separated list of ${what}; got '${text}'`);
      return value;
    });
  }

  /** Options given on the command line that the benchmark never asked for (typos). */
  unknown(): string[] {
    return [...this.values.keys()].filter((key) => !this.read.has(key));
  }
}

export class BenchUsageError extends Error {}

export function parseCount(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)([km]?)$/i.exec(text.replaceAll("_", ""));
  if (!match) return undefined;
  const scale = { "": 1, k: 1_000, m: 1_000_000 }[match[2]!.toLowerCase() as "" | "k" | "m"];
  const value = Number(match[1]) * scale;
  return Number.isSafeInteger(value) ? value : undefined;
}

/** 100000 → "100k", 1000000 → "1m", 2500 → "2500". */
export function formatCount(value: number): string {
  if (value >= 1_000_000 && value % 1_000_000 === 0) return `${value / 1_000_000}m`;
  if (value >= 1_000 && value % 1_000 === 0) return `${value / 1_000}k`;
  return String(value);
}
