import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { CLIP_MEAN, CLIP_STD, INPUT_SIZE, preprocessBatch } from "../../../services/inference/src/preprocess/index.ts";
import { ClipTokenizer, CONTEXT_LENGTH } from "../../../services/inference/src/tokenizer/index.ts";
import { Random } from "../lib/prng.ts";
import { prompts } from "./prompts.ts";

const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const PHOTO_DIR = join(REPO_ROOT, "test", "fixtures", "images");
const PLANE = INPUT_SIZE * INPUT_SIZE;
const IMAGE_LENGTH = 3 * PLANE;

export interface PixelBatch {
  data: Float32Array;
  dims: [number, 3, number, number];
  /** What each row is, for the report. */
  sources: string[];
}

export interface TokenIds {
  ids: BigInt64Array;
  dims: [number, number];
  texts: string[];
}

function photoFiles(): string[] {
  const files: string[] = [];
  for (const dir of readdirSync(PHOTO_DIR, { withFileTypes: true })) {
    if (!dir.isDirectory()) continue;
    for (const name of readdirSync(join(PHOTO_DIR, dir.name))) {
      if (/\.(jpe?g|png)$/i.test(name)) files.push(join(PHOTO_DIR, dir.name, name));
    }
  }
  return files.sort();
}

/** A copy of one normalised image, mirrored left to right: a different input with photo statistics. */
function mirrorInto(out: Float32Array, target: number, source: number): void {
  for (let plane = 0; plane < 3; plane++) {
    for (let y = 0; y < INPUT_SIZE; y++) {
      const row = plane * PLANE + y * INPUT_SIZE;
      for (let x = 0; x < INPUT_SIZE; x++) out[target * IMAGE_LENGTH + row + x] = out[source * IMAGE_LENGTH + row + INPUT_SIZE - 1 - x]!;
    }
  }
}

/**
 * The repository's test photographs (test/fixtures/images) through the inference service's own
 * open_clip preprocessing, then their mirror images when more rows are asked for than photos exist.
 */
export async function photoPixels(count: number): Promise<PixelBatch> {
  const files = photoFiles();
  if (files.length === 0) throw new Error(`no photographs under ${PHOTO_DIR}`);
  const used = files.slice(0, Math.min(count, files.length));
  const decoded = await preprocessBatch(used.map((file) => readFileSync(file)), { mode: "open_clip" });
  const data = new Float32Array(count * IMAGE_LENGTH);
  data.set(decoded.data);
  const sources = used.map((file) => relative(REPO_ROOT, file));
  for (let i = used.length; i < count; i++) {
    const source = (i - used.length) % used.length;
    mirrorInto(data, i, source);
    sources.push(`${sources[source]} (mirrored${i >= 2 * used.length ? `, copy ${Math.floor(i / used.length)}` : ""})`);
  }
  return { data, dims: [count, 3, INPUT_SIZE, INPUT_SIZE], sources };
}

/** Seeded uniform random RGB bytes, normalised with the CLIP mean and std like a preprocessed photo. */
export function randomPixels(count: number, seed: number): PixelBatch {
  const data = new Float32Array(count * IMAGE_LENGTH);
  const random = new Random(seed, 0x1a6e);
  for (let i = 0; i < count; i++) {
    for (let plane = 0; plane < 3; plane++) {
      const offset = i * IMAGE_LENGTH + plane * PLANE;
      for (let p = 0; p < PLANE; p++) data[offset + p] = (random.int(0, 255) / 255 - CLIP_MEAN[plane]!) / CLIP_STD[plane]!;
    }
  }
  return { data, dims: [count, 3, INPUT_SIZE, INPUT_SIZE], sources: Array.from({ length: count }, (_, i) => `random pixels (seed ${seed}, row ${i})`) };
}

/** The first `count` rows of a batch (a view, no copy). */
export function firstImages(batch: PixelBatch, count: number): PixelBatch {
  return { data: batch.data.subarray(0, count * IMAGE_LENGTH), dims: [count, 3, INPUT_SIZE, INPUT_SIZE], sources: batch.sources.slice(0, count) };
}

/** `count` zero-shot prompts (the 80 CLIP templates around one label) through the service's tokenizer. */
export async function promptIds(count: number): Promise<TokenIds> {
  const tokenizer = await ClipTokenizer.load();
  const texts = prompts(count);
  const batch = tokenizer.tokenizeBatch(texts, CONTEXT_LENGTH);
  return { ids: batch.ids, dims: [count, CONTEXT_LENGTH], texts };
}
