import { fileURLToPath } from "node:url";
import { runChildScript, type ChildRun, type ChildRunOptions } from "../lib/child-run.ts";
import type { ImportRunRequest, ImportRunResult } from "./import-process.ts";

const PROCESS_SCRIPT = fileURLToPath(new URL("./import-process.ts", import.meta.url));

export type ImportRun = ChildRun<ImportRunResult>;

/** Runs import-process.ts in a child process (killable part-way: `killWhen`). */
export function runImport(request: Omit<ImportRunRequest, "resultPath">, workDir: string, options: ChildRunOptions = {}): Promise<ImportRun> {
  return runChildScript<typeof request, ImportRunResult>(PROCESS_SCRIPT, request, workDir, options);
}
