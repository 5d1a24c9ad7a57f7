import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { ImportFileError } from "./errors.ts";

/**
 * sha256 of the inputs, streamed (memory stays flat): the checkpoint key, so a changed file is a
 * new import and an unchanged one resumes or is skipped. A directory hashes its files in name order.
 */
export async function digestInputs(paths: readonly string[]): Promise<string> {
  const hash = createHash("sha256");
  for (const path of paths) {
    const info = await stat(path).catch(() => {
      throw new ImportFileError(path, "file not found");
    });
    if (info.isDirectory()) {
      for (const name of (await readdir(path)).sort()) {
        const child = join(path, name);
        if ((await stat(child)).isFile()) {
          hash.update(`\u0000${name}\u0000`);
          await hashFile(hash, child);
        }
      }
    } else {
      await hashFile(hash, path);
    }
  }
  return hash.digest("hex");
}

async function hashFile(hash: ReturnType<typeof createHash>, path: string): Promise<void> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
}
