import { execFileSync } from "node:child_process";

/**
 * A probe of the machine's state: nanoseconds per dependent read at random over 128 MiB (a pointer
 * chase through one random cycle, so every read waits for the one before). It misses the caches and
 * the TLB as PostgreSQL's buffer look-ups and a busy V8 heap do. On the benchmark VM its result
 * moves from run to run (≈ 200 to 300 ns on 2026-11-29) while pure arithmetic does not, and the
 * servers' CPU per request tends to move with it: a rough sign of the machine's state, not a
 * correction factor (test/bench/taxon-page/README.md). Runs in a child process so this process's
 * heap stays as it was; ≈ 4 s.
 */
const PROBE = `
const n = 1 << 25;
const next = new Int32Array(n);
for (let i = 0; i < n; i++) next[i] = i;
let seed = 42;
const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
for (let i = n - 1; i > 0; i--) { const j = Math.floor(random() * i); const t = next[i]; next[i] = next[j]; next[j] = t; }
const passes = [];
let p = 0;
for (let r = 0; r < 3; r++) {
  const steps = 2000000, t0 = process.hrtime.bigint();
  for (let s = 0; s < steps; s++) p = next[p];
  passes.push(Number(process.hrtime.bigint() - t0) / steps);
}
passes.sort((a, b) => a - b);
process.stdout.write(JSON.stringify({ ns: passes[1], end: p }));
`;

/** Median of three passes, in ns per read. */
export function memoryLatencyNs(): number {
  const output = execFileSync(process.execPath, ["-e", PROBE], { encoding: "utf8", timeout: 60_000 });
  return (JSON.parse(output) as { ns: number }).ns;
}
