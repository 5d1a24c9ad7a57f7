import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { inclusiveShare, loadProfile, summarizeProfile } from "../profile.ts";

/** A tiny .cpuprofile (root → execute (graphql) → resolver (apps/api) → JSON.stringify; idle; GC), written to disk and loaded back. */
function writeAndLoadProfile(): ReturnType<typeof loadProfile> {
  const frame = (functionName: string, url = "") => ({ functionName, url, lineNumber: 0, columnNumber: 0, scriptId: "0" });
  const nodes = [
    { id: 1, callFrame: frame("(root)"), children: [2, 5, 6] },
    { id: 2, callFrame: frame("execute", "file:///x/node_modules/graphql/execution/execute.js"), children: [3] },
    { id: 3, callFrame: frame("resolve", "file:///x/apps/api/src/resolvers/taxon/taxon.resolver.ts"), children: [4] },
    { id: 4, callFrame: frame("stringify"), children: [] },
    { id: 5, callFrame: frame("(idle)"), children: [] },
    { id: 6, callFrame: frame("(garbage collector)"), children: [] },
  ];
  // Samples at t = 10, 20, …, 100 µs after start.
  const samples = [2, 2, 3, 4, 5, 5, 6, 3, 2, 5];
  const profile = { nodes, startTime: 1000, endTime: 1100, samples, timeDeltas: samples.map(() => 10) };
  const dir = mkdtempSync(join(tmpdir(), "taxon-page-profile-"));
  try {
    const path = join(dir, "x.cpuprofile");
    writeFileSync(path, JSON.stringify(profile));
    return loadProfile(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("cpuprofile summary", () => {
  const profile = writeAndLoadProfile();

  it("counts non-idle samples by component, built-ins charged to their caller except JSON", () => {
    const summary = summarizeProfile(profile);
    expect(summary.samples).toBe(10);
    expect(summary.busySamples).toBe(7);
    const share = Object.fromEntries(summary.components.map((c) => [c.component, c.samples]));
    expect(share["graphql-js execute (resolve tree, complete values)"]).toBe(3);
    expect(share["apps/api code (resolvers, loaders, context)"]).toBe(2);
    expect(share["JSON.stringify/parse"]).toBe(1);
    expect(share.GC).toBe(1);
    expect(summary.hotFunctions[0]!.name).toBe("execute");
  });

  it("keeps only the samples inside a time window", () => {
    // t = 1010 … 1100; the window [1045, 1085] holds samples 4–8: ids 5, 5, 6, 3 (+ sample at 1080 = id 3).
    const summary = summarizeProfile(profile, { fromUs: 1045, toUs: 1085 });
    expect(summary.samples).toBe(4);
    expect(summary.busySamples).toBe(2);
  });

  it("measures inclusive shares over callees", () => {
    expect(inclusiveShare(profile, (f) => f.functionName === "execute")).toBeCloseTo(6 / 7);
    expect(inclusiveShare(profile, (f) => f.functionName === "resolve")).toBeCloseTo(3 / 7);
  });
});
