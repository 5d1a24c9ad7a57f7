import { EventEmitter } from "node:events";
import type pg from "pg";
import { describe, expect, it } from "vitest";
import { ImportProfiler, TIMED_REPOSITORY_METHODS } from "../import-profiler.ts";

/** A stand-in for pg.PoolClient: query() answers after a tick, in promise or callback form. */
class FakeClient extends EventEmitter {
  readonly seen: unknown[] = [];
  query(config: unknown, values?: unknown, callback?: unknown): unknown {
    this.seen.push(config);
    const result = { rowCount: 3, rows: [] };
    const cb = typeof values === "function" ? values : callback;
    if (typeof cb === "function") {
      setTimeout(() => (cb as (e: null, r: unknown) => void)(null, result), 1);
      return undefined;
    }
    if (typeof (config as { submit?: unknown }).submit === "function") return config;
    return new Promise((resolve) => setTimeout(() => resolve(result), 1));
  }
}

function fakeRepository(client: FakeClient) {
  const methods: Record<string, unknown> = {};
  for (const name of TIMED_REPOSITORY_METHODS) methods[name] = async () => undefined;
  methods.resolveStagedTaxa = async function (this: Record<string, () => Promise<void>>) {
    await client.query("SELECT  1\n FROM x");
    await this.insertUnmatched!();
  };
  methods.insertUnmatched = async () => {
    await client.query("INSERT INTO taxon …");
  };
  return methods;
}

describe("ImportProfiler", () => {
  it("times repository calls with their nesting and attributes statements to them", async () => {
    const profiler = new ImportProfiler();
    const pool = new EventEmitter();
    profiler.instrumentPool(pool as unknown as pg.Pool);
    const client = new FakeClient();
    pool.emit("connect", client);
    const repository = fakeRepository(client);
    profiler.wrapRepository(repository);

    await (repository.resolveStagedTaxa as () => Promise<void>).call(repository);
    await new Promise<void>((resolve) => (client as unknown as { query: (...a: unknown[]) => unknown }).query("COMMIT", () => resolve()));
    const stream = { submit() {} };
    expect((client as unknown as { query: (c: unknown) => unknown }).query(stream)).toBe(stream);

    const { statements } = profiler.finish();
    expect([...profiler.calls.keys()].sort()).toEqual(["resolveStagedTaxa", "resolveStagedTaxa>insertUnmatched"]);
    expect(profiler.calls.get("resolveStagedTaxa")!.calls).toBe(1);
    const byContext = Object.fromEntries(statements.map((s) => [s.sql, s]));
    expect(byContext["SELECT 1 FROM x"]).toMatchObject({ context: "resolveStagedTaxa", calls: 1, rows: 3 });
    expect(byContext["INSERT INTO taxon …"]).toMatchObject({ context: "resolveStagedTaxa>insertUnmatched", calls: 1 });
    expect(byContext["COMMIT"]).toMatchObject({ context: "(runner)", calls: 1 });
    // The COPY stream went through untimed.
    expect(statements).toHaveLength(3);
  });

  it("refuses to wrap a repository that lacks a timed method", () => {
    const profiler = new ImportProfiler();
    expect(() => profiler.wrapRepository({ stageTaxa: async () => undefined })).toThrow(/has no method/);
    profiler.finish();
  });

  it("records the check and write passes as phases", async () => {
    const profiler = new ImportProfiler();
    const progress = profiler.progress();
    progress.start("taxa-parent-child (check)", 0);
    progress.stop();
    progress.start("taxa-parent-child", 10);
    progress.stop();
    const { phases } = profiler.finish();
    expect(phases.map((p) => p.name)).toEqual(["hash + checkpoint lookup", "check pass (parse every row)", "write pass (stage batches)", "finish (resolution transaction, prototypes)"]);
    for (const phase of phases) expect(phase.peakRssMiB).toBeGreaterThan(0);
  });
});
