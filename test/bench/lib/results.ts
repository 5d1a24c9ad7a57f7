import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const RESULTS_DIR = fileURLToPath(new URL("../../../bench-results", import.meta.url));

/**
 * Writes `<dir>/<file>.json` (the latest run) and `<dir>/history/<file>-<UTC stamp>.json` (a dated
 * copy that later runs keep). Written to a .tmp file and renamed, so a crash never leaves half a file.
 */
export function writeResultFiles(dir: string, file: string, result: unknown, date: Date): { latest: string; dated: string } {
  const stamp = date.toISOString().slice(0, 16).replace(":", "").replace("T", "-");
  const latest = join(dir, `${file}.json`);
  const dated = join(dir, "history", `${file}-${stamp}.json`);
  const text = `${JSON.stringify(result, null, 2)}\n`;
  for (const path of [latest, dated]) {
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(`${path}.tmp`, text);
    renameSync(`${path}.tmp`, path);
  }
  return { latest, dated };
}
