import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { writeResultFiles } from "../lib/results.ts";

describe("writeResultFiles", () => {
  it("writes the latest file and a dated copy with the same content, no temporary files left", () => {
    const dir = mkdtempSync(join(tmpdir(), "bench-results-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const paths = writeResultFiles(dir, "demo.100k", { value: 1 }, new Date("2026-11-28T08:05:09Z"));
    expect(paths.latest).toBe(join(dir, "demo.100k.json"));
    expect(paths.dated).toBe(join(dir, "history", "demo.100k-2026-11-28-0805.json"));
    expect(JSON.parse(readFileSync(paths.latest, "utf8"))).toEqual({ value: 1 });
    expect(readFileSync(paths.dated, "utf8")).toBe(readFileSync(paths.latest, "utf8"));
    expect(readdirSync(dir).sort()).toEqual(["demo.100k.json", "history"]);
  });
});
