// PROTOTYPE (benchmark only): the screening-kernel comparison alone, without the data set:
//   node --import tsx test/bench/inference/classify/prototype/run-kernels.ts [repeats]
import { TorchHead } from "../torch-head.ts";
import { screeningKernels } from "./screening-kernels.ts";

const torch = TorchHead.start("/usr/bin/python3", 2, "inherit");
try {
  const kernels = await screeningKernels({ threads: 2, batches: [1, 32], rows: 65_536, repeats: Number(process.argv[2] ?? 5), torch });
  for (const k of kernels) console.log(`${k.kernel.padEnd(95)} batch ${String(k.batch).padStart(2)}  ${k.msPerImagePerMillion.toFixed(1).padStart(7)} ms/image per 1 M species`);
} finally {
  await torch.close();
}
