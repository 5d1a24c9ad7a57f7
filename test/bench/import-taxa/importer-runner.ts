import { fileURLToPath } from "node:url";
import { runChildScript } from "../lib/child-run.ts";
import type { ImporterRunRequest, ImporterRunResult } from "./importer-process.ts";

const PROCESS_SCRIPT = fileURLToPath(new URL("./importer-process.ts", import.meta.url));

export interface ImporterRun extends ImporterRunResult {
  /** Wall time of the child process, start-up (Node + tsx) included. */
  processMs: number;
}

/** Runs importer-process.ts in a child process and returns its result; its stderr is in the error when it fails. */
export async function runImporter(request: Omit<ImporterRunRequest, "resultPath">, workDir: string, onLine?: (line: string) => void): Promise<ImporterRun> {
  const run = await runChildScript<typeof request, ImporterRunResult>(PROCESS_SCRIPT, request, workDir, { onLine });
  return { ...run.result!, processMs: run.processMs };
}
