// The content-addressed store of image files: the bytes of each image under its sha256 (the `image.sha256`
// column), `<dir>/ab/cd/<sha256>`. Files are written whole or not at all and checked against their name on
// every read, so a damaged file is reported, never served.
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import * as fsPromises from "node:fs/promises";
import path from "node:path";

/** Where `npm start` keeps its data (DATA_DIR's default); image files go under `<DATA_DIR>/images`. */
export const DEFAULT_DATA_DIR = ".arbor/data";

/**
 * The image directory from the settings: IMAGE_DIR, else `<DATA_DIR>/images` (DATA_DIR defaulting to
 * `.arbor/data`). Relative paths resolve against `base`.
 */
export function resolveImageDir(settings: { imageDir?: string; dataDir?: string }, base: string): string {
  return path.resolve(base, settings.imageDir ?? path.join(settings.dataDir ?? DEFAULT_DATA_DIR, "images"));
}

export type ImageFileErrorCode = "INVALID_SHA256" | "IMAGE_FILE_MISSING" | "IMAGE_FILE_CORRUPT";

export class ImageFileError extends Error {
  override readonly name = "ImageFileError";

  constructor(
    readonly code: ImageFileErrorCode,
    message: string,
    readonly sha256: string,
  ) {
    super(message);
  }
}

const SHA256_PATTERN = /^[0-9a-f]{64}$/;

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** The file operations of `put` and `size`; tests wrap them to watch or break a write. */
export type ImageFileSystem = Pick<typeof fsPromises, "open" | "rename" | "unlink" | "mkdir" | "stat">;

export class ImageFileStore {
  readonly #fs: ImageFileSystem;

  constructor(
    /** Absolute directory holding the files. */
    readonly dir: string,
    options: { fs?: ImageFileSystem } = {},
  ) {
    this.#fs = options.fs ?? fsPromises;
  }

  /** `<dir>/ab/cd/<sha256>`; throws INVALID_SHA256 for anything but 64 lower-case hex digits (no path tricks). */
  pathOf(sha256: string): string {
    if (!SHA256_PATTERN.test(sha256)) {
      throw new ImageFileError("INVALID_SHA256", `not a sha256 (64 lower-case hex digits): ${JSON.stringify(sha256.slice(0, 80))}`, sha256);
    }
    return path.join(this.dir, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  }

  /**
   * Stores `bytes` and returns their sha256. Idempotent: a file already there with the right content is left
   * as it is; a missing or damaged one is (re)written. The bytes go to a temporary file in the target folder,
   * are fsynced, then renamed over the target, and the folder is fsynced: a reader sees the whole file or none,
   * and after a crash the file is either complete or absent (a stray `.tmp` file at worst).
   */
  async put(bytes: Uint8Array): Promise<string> {
    const sha256 = sha256Hex(bytes);
    const target = this.pathOf(sha256);
    if (await this.#holds(sha256)) return sha256;
    const folder = path.dirname(target);
    const firstCreated = await this.#fs.mkdir(folder, { recursive: true });
    const temporary = path.join(folder, `.${sha256}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
    try {
      const handle = await this.#fs.open(temporary, "wx", 0o644);
      try {
        await handle.writeFile(bytes);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await this.#fs.rename(temporary, target);
    } catch (error) {
      await this.#fs.unlink(temporary).catch(() => undefined);
      throw error;
    }
    await this.#syncFolder(folder);
    // Folders made for this file must reach the disk too, or the file could vanish with them after a crash.
    if (firstCreated !== undefined) {
      for (let made = folder; made !== path.dirname(firstCreated); made = path.dirname(made)) await this.#syncFolder(path.dirname(made));
    }
    return sha256;
  }

  /** The bytes stored under `sha256`, checked against it: IMAGE_FILE_MISSING, IMAGE_FILE_CORRUPT. */
  async read(sha256: string): Promise<Buffer> {
    const file = this.pathOf(sha256);
    const hash = createHash("sha256");
    const chunks: Buffer[] = [];
    try {
      // Streamed, so hashing a large file leaves the event loop free between chunks.
      for await (const chunk of createReadStream(file)) {
        hash.update(chunk as Buffer);
        chunks.push(chunk as Buffer);
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") {
        throw new ImageFileError("IMAGE_FILE_MISSING", `no image file is stored for sha256 ${sha256}`, sha256);
      }
      throw error;
    }
    const actual = hash.digest("hex");
    if (actual !== sha256) {
      throw new ImageFileError("IMAGE_FILE_CORRUPT", `the image file ${file} does not match its sha256 (its content hashes to ${actual})`, sha256);
    }
    return Buffer.concat(chunks);
  }

  /** The file's size in bytes, or undefined when no file is stored under `sha256` (not checked against it). */
  async size(sha256: string): Promise<number | undefined> {
    try {
      return (await this.#fs.stat(this.pathOf(sha256))).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }

  async #holds(sha256: string): Promise<boolean> {
    try {
      await this.read(sha256);
      return true;
    } catch (error) {
      if (error instanceof ImageFileError) return false;
      throw error;
    }
  }

  async #syncFolder(folder: string): Promise<void> {
    const handle = await this.#fs.open(folder, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}
