/**
 * Node flags the API process is started with (scripts/start.ts, docker, the taxon-page benchmark).
 *
 * A larger young generation: with 16 MiB semi-spaces (Node 20's default) a busy API scavenged ≈ 20
 * times a second, ≈ 15 % of its wall time, each pause copying the objects of every request in
 * flight; with 64 MiB most of those have been answered and died before the next scavenge. Costs up
 * to ≈ 150 MiB more resident memory under load.
 */
export const API_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=64"];
