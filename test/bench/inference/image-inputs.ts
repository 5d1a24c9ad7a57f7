import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";

export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const PHOTO_DIR = join(REPO_ROOT, "test", "fixtures", "images");

/** The two kinds of input the HTTP benchmark sends. */
export const IMAGE_SETS = ["small", "photos"] as const;
export type ImageSetName = (typeof IMAGE_SETS)[number];

export interface ImageInput {
  /** Repository-relative source, plus how it was derived. */
  source: string;
  bytes: Buffer;
  width: number;
  height: number;
}

export interface ImageSet {
  name: ImageSetName;
  description: string;
  images: ImageInput[];
  meanBytes: number;
}

function photoFiles(): string[] {
  const files: string[] = [];
  for (const dir of readdirSync(PHOTO_DIR, { withFileTypes: true })) {
    if (!dir.isDirectory()) continue;
    for (const name of readdirSync(join(PHOTO_DIR, dir.name))) {
      if (/\.jpe?g$/i.test(name)) files.push(join(PHOTO_DIR, dir.name, name));
    }
  }
  if (files.length === 0) throw new Error(`no JPEG photographs under ${PHOTO_DIR}`);
  return files.sort();
}

function summarise(name: ImageSetName, description: string, images: ImageInput[]): ImageSet {
  return { name, description, images, meanBytes: Math.round(images.reduce((sum, image) => sum + image.bytes.length, 0) / images.length) };
}

/**
 * `photos`: the repository's real photographs as they are (camera-trap frames of 2048×1536 and
 * 1046×802, a 320×317 cat), where decoding and resizing dominate.
 * `small`: the same photographs already brought to 224×224 (shortest side to 224 with Lanczos, centre
 * crop, JPEG quality 90) plus their mirror images, as a client that resizes before uploading would send
 * them: the service's per-request overheads and the encoder dominate.
 */
export async function loadImageSet(name: ImageSetName): Promise<ImageSet> {
  const files = photoFiles();
  if (name === "photos") {
    const images = await Promise.all(
      files.map(async (file) => {
        const bytes = readFileSync(file);
        const meta = await sharp(bytes).metadata();
        return { source: relative(REPO_ROOT, file), bytes, width: meta.width ?? 0, height: meta.height ?? 0 };
      }),
    );
    return summarise(name, `${images.length} real photographs from test/fixtures/images (JPEG, as stored)`, images);
  }
  const images: ImageInput[] = [];
  for (const file of files) {
    for (const mirrored of [false, true]) {
      let pipeline = sharp(readFileSync(file)).rotate().resize(224, 224, { fit: "cover", position: "centre", kernel: "lanczos3" });
      if (mirrored) pipeline = pipeline.flop();
      const bytes = await pipeline.jpeg({ quality: 90 }).toBuffer();
      images.push({ source: `${relative(REPO_ROOT, file)} → 224×224 JPEG q90${mirrored ? ", mirrored" : ""}`, bytes, width: 224, height: 224 });
    }
  }
  return summarise(name, `${images.length} JPEGs of 224×224 made from the test photographs (resized, centre-cropped, q90, and mirrored copies)`, images);
}
