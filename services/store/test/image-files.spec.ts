// The content-addressed image file store on a real temporary folder.
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { ImageFileError, ImageFileStore, resolveImageDir, type ImageFileSystem } from "../src/image-files.ts";

let dir: string;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(tmpdir(), "arbor-image-files-"));
});

afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** Every file under `root`, relative to it. */
async function filesUnder(root: string): Promise<string[]> {
  const entries = await fs.readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(root, path.join(e.parentPath, e.name))).sort();
}

async function expectFileError(promise: Promise<unknown>, code: ImageFileError["code"]): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ImageFileError);
  expect((error as ImageFileError).code).toBe(code);
}

/**
 * The real file system, recording what `put` does ("open temp", "sync temp", "rename temp→target", "sync folder")
 * and optionally failing one step.
 */
function recordingFs(steps: string[], fail?: "rename" | "sync temp"): ImageFileSystem {
  const kind = (file: string) => (file.endsWith(".tmp") ? "temp" : /^[0-9a-f]{64}$/.test(path.basename(file)) ? "target" : "folder");
  const open = async (file: Parameters<typeof fs.open>[0], flags?: Parameters<typeof fs.open>[1], mode?: Parameters<typeof fs.open>[2]) => {
    const handle = await fs.open(file, flags, mode);
    const what = kind(String(file));
    steps.push(`open ${what} ${String(flags)}`);
    return new Proxy(handle, {
      get(target, property) {
        const value = Reflect.get(target, property, target) as unknown;
        if (typeof value !== "function") return value;
        if (property === "writeFile" || property === "sync" || property === "close") {
          return async (...args: unknown[]) => {
            steps.push(`${String(property)} ${what}`);
            if (fail === "sync temp" && property === "sync" && what === "temp") throw new Error("injected: sync failed");
            return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          };
        }
        return (value as (...a: unknown[]) => unknown).bind(target);
      },
    }) as FileHandle;
  };
  return {
    open: open as typeof fs.open,
    mkdir: fs.mkdir,
    stat: fs.stat,
    unlink: async (file) => {
      steps.push(`unlink ${kind(String(file))}`);
      return fs.unlink(file);
    },
    rename: async (from, to) => {
      steps.push(`rename ${kind(String(from))}→${kind(String(to))}`);
      if (fail === "rename") throw new Error("injected: rename failed");
      return fs.rename(from, to);
    },
  };
}

describe("ImageFileStore", () => {
  it("stores bytes under ab/cd/<sha256> and reads them back", async () => {
    const store = new ImageFileStore(dir);
    const bytes = randomBytes(10_000);
    const digest = await store.put(bytes);
    expect(digest).toBe(sha256(bytes));
    expect(store.pathOf(digest)).toBe(path.join(dir, digest.slice(0, 2), digest.slice(2, 4), digest));
    expect(await filesUnder(dir)).toEqual([path.join(digest.slice(0, 2), digest.slice(2, 4), digest)]);
    expect(Buffer.compare(await store.read(digest), bytes)).toBe(0);
    expect(await store.size(digest)).toBe(bytes.length);
  });

  it("writes a temporary file, fsyncs it, renames it over the target, then fsyncs the folder", async () => {
    const steps: string[] = [];
    const store = new ImageFileStore(dir, { fs: recordingFs(steps) });
    await store.put(randomBytes(1000));
    const at = (step: string) => steps.indexOf(step);
    expect(at("open temp wx")).toBe(0);
    expect(at("writeFile temp")).toBeGreaterThan(at("open temp wx"));
    expect(at("sync temp")).toBeGreaterThan(at("writeFile temp"));
    expect(at("close temp")).toBeGreaterThan(at("sync temp"));
    expect(at("rename temp→target")).toBeGreaterThan(at("close temp"));
    expect(steps.slice(at("rename temp→target") + 1, at("rename temp→target") + 4)).toEqual(["open folder r", "sync folder", "close folder"]);
    expect(steps.filter((s) => s.includes("target") && !s.startsWith("rename"))).toEqual([]); // the target is never written in place
  });

  it.each(["rename", "sync temp"] as const)("leaves neither the target nor a temporary file when the %s step fails", async (fail) => {
    const steps: string[] = [];
    const store = new ImageFileStore(dir, { fs: recordingFs(steps, fail) });
    const bytes = randomBytes(1000);
    await expect(store.put(bytes)).rejects.toThrow(/injected/);
    expect(steps).toContain("unlink temp");
    expect(await filesUnder(dir)).toEqual([]);
    await expectFileError(new ImageFileStore(dir).read(sha256(bytes)), "IMAGE_FILE_MISSING");
  });

  it("never lets a reader see a partly written file", async () => {
    const store = new ImageFileStore(dir);
    for (let round = 0; round < 8; round++) {
      const bytes = randomBytes(4 * 1024 * 1024);
      const target = store.pathOf(sha256(bytes));
      let done = false;
      const writing = store.put(bytes).finally(() => (done = true));
      const seen: number[] = [];
      while (!done) {
        const content = await fs.readFile(target).catch(() => undefined);
        if (content) seen.push(content.length);
      }
      await writing;
      expect(seen.every((length) => length === bytes.length)).toBe(true);
    }
  });

  it("is idempotent: a second put of the same bytes returns the same sha256 and does not rewrite the file", async () => {
    const bytes = randomBytes(5000);
    const digest = await new ImageFileStore(dir).put(bytes);
    const before = await fs.stat(new ImageFileStore(dir).pathOf(digest));
    const steps: string[] = [];
    const store = new ImageFileStore(dir, { fs: recordingFs(steps) });
    expect(await store.put(Buffer.from(bytes))).toBe(digest);
    expect(await Promise.all([store.put(bytes), store.put(bytes)])).toEqual([digest, digest]);
    expect(steps).toEqual([]);
    const after = await fs.stat(store.pathOf(digest));
    expect({ ino: after.ino, mtimeMs: after.mtimeMs }).toEqual({ ino: before.ino, mtimeMs: before.mtimeMs });
    expect(await filesUnder(dir)).toHaveLength(1);
  });

  it("concurrent first puts of the same bytes leave one whole file", async () => {
    const store = new ImageFileStore(dir);
    const bytes = randomBytes(256 * 1024);
    const digests = await Promise.all(Array.from({ length: 6 }, () => store.put(bytes)));
    expect(new Set(digests)).toEqual(new Set([sha256(bytes)]));
    expect(await filesUnder(dir)).toHaveLength(1);
    expect(Buffer.compare(await store.read(digests[0]), bytes)).toBe(0);
  });

  it("detects a corrupted or truncated file on read, and a later put repairs it", async () => {
    const store = new ImageFileStore(dir);
    const bytes = randomBytes(20_000);
    const digest = await store.put(bytes);
    const file = store.pathOf(digest);

    const flipped = Buffer.from(bytes);
    flipped[12_345] ^= 0x01;
    await fs.writeFile(file, flipped);
    await expectFileError(store.read(digest), "IMAGE_FILE_CORRUPT");

    await fs.writeFile(file, bytes.subarray(0, 100));
    await expectFileError(store.read(digest), "IMAGE_FILE_CORRUPT");

    await fs.writeFile(file, "");
    await expectFileError(store.read(digest), "IMAGE_FILE_CORRUPT");

    expect(await store.put(bytes)).toBe(digest);
    expect(Buffer.compare(await store.read(digest), bytes)).toBe(0);
  });

  it("reports a missing file as IMAGE_FILE_MISSING, and its size as undefined", async () => {
    const store = new ImageFileStore(dir);
    const digest = sha256(Buffer.from("never stored"));
    await expectFileError(store.read(digest), "IMAGE_FILE_MISSING");
    expect(await store.size(digest)).toBeUndefined();
  });

  it("refuses names that are not a sha256, so no path leaves the folder", async () => {
    const store = new ImageFileStore(dir);
    for (const name of ["../../etc/passwd", "A".repeat(64), "ab".repeat(31), `${"a".repeat(64)}/..`, ""]) {
      expect(() => store.pathOf(name)).toThrow(ImageFileError);
      await expectFileError(store.read(name), "INVALID_SHA256");
    }
  });
});

describe("resolveImageDir", () => {
  it("uses IMAGE_DIR, else <DATA_DIR>/images, DATA_DIR defaulting to .arbor/data", () => {
    expect(resolveImageDir({}, "/repo")).toBe("/repo/.arbor/data/images");
    expect(resolveImageDir({ dataDir: "/var/arbor" }, "/repo")).toBe("/var/arbor/images");
    expect(resolveImageDir({ dataDir: "data" }, "/repo")).toBe("/repo/data/images");
    expect(resolveImageDir({ imageDir: "/srv/images", dataDir: "/var/arbor" }, "/repo")).toBe("/srv/images");
  });
});
