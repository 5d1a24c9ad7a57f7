import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Progress } from "../../lib/progress.ts";
import { openEngineHead, runEngineHead } from "../classify/engine-head.ts";
import { readDataset, writeQueryFile, writeSpeciesFile } from "../classify/synthetic-dataset.ts";

const dir = mkdtempSync(join(tmpdir(), "arbor-engine-head-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("engine head adapter", () => {
  it("feeds the synthetic tree to TreeOfLifeClassifier and reads group ids back from its answers", async () => {
    const params = { species: 400, dim: 768, seed: 9 };
    writeSpeciesFile(join(dir, "s.bin"), params, new Progress("test", () => {}));
    writeQueryFile(join(dir, "q.bin"), { ...params, queries: 6, queryNoise: 0.5 });
    const data = readDataset(join(dir, "s.bin"), join(dir, "q.bin"));
    // Brute force in float64 here: the expected top-1 species and its genus.
    const expected = Array.from({ length: 6 }, (_, q) => {
      let best = -Infinity;
      let at = -1;
      for (let p = 0; p < 400; p++) {
        let s = 0;
        for (let k = 0; k < 768; k++) s += data.queries[q * 768 + k]! * data.vectors[p * 768 + k]!;
        if (s > best) [best, at] = [s, p];
      }
      return at;
    });
    const genusOf = data.tree.groupOf[5]!.slice();
    const head = openEngineHead(data, { scorer: "js", threads: 1, logitScale: 100 });
    const run = await runEngineHead(head, data, 4, 0, 6, 3);
    expect(run.batchMs).toHaveLength(2);
    expect(run.top1.map((t) => t[6])).toEqual(expected);
    expect(run.top1.map((t) => t[5])).toEqual(expected.map((p) => genusOf[p]));
    expect(run.certifiedAll.every(Boolean)).toBe(true);
  });
});
