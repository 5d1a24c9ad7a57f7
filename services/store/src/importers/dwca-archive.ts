import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import yauzl from "yauzl";
import { ImportFileError } from "./errors.ts";

/** A Darwin Core Archive as a zip file or an unpacked directory: named members read as streams. */
export interface ArchiveReader {
  has(name: string): boolean;
  readText(name: string): Promise<string>;
  openStream(name: string): Promise<Readable>;
  close(): void;
}

export async function openArchive(path: string, file: string): Promise<ArchiveReader> {
  const info = await stat(path).catch(() => {
    throw new ImportFileError(file, "file not found");
  });
  return info.isDirectory() ? openDirectory(path) : openZip(path, file);
}

async function openDirectory(dir: string): Promise<ArchiveReader> {
  const { readdir } = await import("node:fs/promises");
  const names = new Set(await readdir(dir));
  return {
    has: (name) => names.has(name),
    readText: (name) => readFile(join(dir, name), "utf8"),
    openStream: async (name) => createReadStream(join(dir, name)),
    close() {},
  };
}

async function openZip(path: string, file: string): Promise<ArchiveReader> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) => {
    // autoClose off: members are opened after the directory has been listed.
    yauzl.open(path, { lazyEntries: true, autoClose: false }, (error, zipfile) => (error ? reject(new ImportFileError(file, `not a zip archive: ${error.message}`)) : resolve(zipfile!)));
  });
  const entries = new Map<string, yauzl.Entry>();
  await new Promise<void>((resolve, reject) => {
    zip.on("entry", (entry: yauzl.Entry) => {
      // Members are addressed by their name inside the archive's top folder, if it has one.
      if (!entry.fileName.endsWith("/")) entries.set(entry.fileName.replace(/^[^/]+\/(?=[^/]+$)/, ""), entry);
      zip.readEntry();
    });
    zip.on("end", () => resolve());
    zip.on("error", (error: Error) => reject(new ImportFileError(file, `unreadable zip archive: ${error.message}`)));
    zip.readEntry();
  });
  const openStream = (name: string) =>
    new Promise<Readable>((resolve, reject) => {
      const entry = entries.get(name);
      if (!entry) return reject(new ImportFileError(file, `archive has no member "${name}"`));
      zip.openReadStream(entry, (error, stream) => (error ? reject(new ImportFileError(file, `cannot read "${name}": ${error.message}`)) : resolve(stream!)));
    });
  return {
    has: (name) => entries.has(name),
    async readText(name) {
      const chunks: Buffer[] = [];
      for await (const chunk of await openStream(name)) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString("utf8");
    },
    openStream,
    close: () => zip.close(),
  };
}
