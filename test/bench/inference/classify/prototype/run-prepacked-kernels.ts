// PROTOTYPE (benchmark only): prepacked (initializer) screening kernels against the engine's current graph:
//   node --import tsx test/bench/inference/classify/prototype/run-prepacked-kernels.ts [turns=9] [rows=65536] [out.json|-] [batches=32,1]
import { readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { prepackedKernels } from "./prepacked-kernels.ts";

const turns = Number(process.argv[2] ?? 9);
const rows = Number(process.argv[3] ?? 65_536);
const outPath = process.argv[4] === "-" ? undefined : process.argv[4];
const batches = (process.argv[5] ?? "32,1").split(",").map(Number);
const flags = readFileSync("/proc/cpuinfo", "utf8").match(/^flags\s*:(.*)$/m)?.[1]?.trim().split(/\s+/) ?? [];
const vnni = flags.filter((f) => /vnni|amx/.test(f));
console.error(`${cpus()[0]?.model}, ${cpus().length} cores, ${vnni.join(" ") || "no VNNI"}; ${rows} rows × 768, ${turns} turns`);
const timings = await prepackedKernels({ threads: 2, batches, rows, turns, log: (l) => console.error(l) });
console.log("| kernel | batch | ms/image per 1 M species | × vs engine graph | max dot error | session create ms | session MiB | load avg (start → end) |");
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
for (const t of timings)
  console.log(
    `| ${t.kernel} | ${t.batch} | ${t.msPerImagePerMillion.toFixed(1)} | ${t.speedupOverEngineGraph.toFixed(2)} | ${t.maxDotError.toExponential(1)} | ${t.createMs.toFixed(0)} | ${t.sessionMiB.toFixed(0)} | ${t.loadAverage.start[0]!.toFixed(1)} → ${t.loadAverage.end[0]!.toFixed(1)} |`,
  );
if (outPath) writeFileSync(outPath, JSON.stringify({ date: new Date().toISOString(), cpu: cpus()[0]?.model, vnni, rows, turns, timings }, null, 2));
