import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { mainThreadProfile, summariseProfile } from "../cpu-profile.ts";

const dir = mkdtempSync(join(tmpdir(), "arbor-cpuprofile-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const frame = (functionName: string, url = "") => ({ functionName, url, lineNumber: 0 });
// root → (idle); root → jsonParser → parse (native); root → #run → #run (recursion) → run (onnxruntime)
const profile = {
  nodes: [
    { id: 1, callFrame: frame("(root)"), children: [2, 3, 5] },
    { id: 2, callFrame: frame("(idle)") },
    { id: 3, callFrame: frame("jsonParser", "file:///x/node_modules/body-parser/lib/types/json.js"), children: [4] },
    { id: 4, callFrame: frame("parse", "file:///x/node_modules/body-parser/lib/types/json.js") },
    { id: 5, callFrame: frame("#run", "file:///x/services/inference/src/models/image-embedder.ts"), children: [6] },
    { id: 6, callFrame: frame("#run", "file:///x/services/inference/src/models/image-embedder.ts"), children: [7] },
    { id: 7, callFrame: frame("", "file:///x/node_modules/onnxruntime-node/dist/backend.js") },
  ],
  startTime: 1_000_000,
  endTime: 1_010_000,
  // one sample per ms: 2 idle, 1 parser, 2 parse, 1 #run, 1 inner #run, 3 onnxruntime
  samples: [2, 2, 3, 4, 4, 5, 6, 7, 7, 7],
  timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000],
};

describe("CPU profile summary", () => {
  writeFileSync(join(dir, "CPU.20260101.000000.42.0.001.cpuprofile"), JSON.stringify(profile));
  writeFileSync(join(dir, "CPU.20260101.000001.42.1.002.cpuprofile"), JSON.stringify({ ...profile, samples: [], timeDeltas: [] }));

  it("picks the main thread's file", () => {
    expect(mainThreadProfile(dir)).toMatch(/\.42\.0\.001\.cpuprofile$/);
  });

  it("adds self time by category and inclusive time by step, counting recursion once", () => {
    const summary = summariseProfile(mainThreadProfile(dir));
    expect(summary.busyMs).toBe(8);
    expect(summary.wallMs).toBe(10);
    const category = Object.fromEntries(summary.categories.map((c) => [c.what, c.ms]));
    expect(category["onnxruntime-node binding"]).toBe(3);
    expect(category["inference service code"]).toBe(2);
    expect(category["body parsing (body-parser, raw-body, iconv)"]).toBe(3);
    const step = Object.fromEntries(summary.steps.map((s) => [s.what, s.ms]));
    expect(step["ImageEmbedder #run (concatenate + session.run + normalise)"]).toBe(5);
    expect(step["express.json body parser (read + JSON.parse of the base64 body)"]).toBe(3);
    expect(step["JSON.parse of the body (inside the body parser)"]).toBe(2);
  });

  it("keeps only the samples inside a window", () => {
    // Sample i is taken at startTime + (i + 1) ms: the window [+5 ms, +8 ms] holds samples 4 … 7.
    const summary = summariseProfile(mainThreadProfile(dir), { fromUs: 1_005_000, toUs: 1_008_000 });
    expect(summary.busyMs).toBe(4);
    expect(summary.wallMs).toBe(3);
  });
});
