import { readFileSync } from "node:fs";
import { join } from "node:path";

/** The parts of a model package's manifest.json (written by models/export) this benchmark reads. */
export interface PackageManifest {
  name: string;
  version: string;
  isStandIn: boolean;
  embeddingDim: number;
  architecture: { name: string } & Record<string, unknown>;
  io: { image: { input: string; output: string }; text: { input: string; output: string } };
  files: Array<{ path: string; role: string; precision: string; bytes: number; sha256: string }>;
  source: { checkpoint: string | null; stateDictSha256: string };
  quantization?: Record<string, unknown>;
}

export type EncoderRole = "image_encoder" | "text_encoder";

export function readPackageManifest(packageDir: string): PackageManifest {
  return JSON.parse(readFileSync(join(packageDir, "manifest.json"), "utf8")) as PackageManifest;
}

/** Precisions the package has for one encoder, in the order fp32, fp16, int8, then any other. */
export function encoderPrecisions(manifest: PackageManifest, role: EncoderRole): string[] {
  const order = ["fp32", "fp16", "int8"];
  const found = manifest.files.filter((file) => file.role === role).map((file) => file.precision);
  return [...new Set(found)].sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99));
}

export function encoderFile(manifest: PackageManifest, role: EncoderRole, precision: string): PackageManifest["files"][number] {
  const file = manifest.files.find((entry) => entry.role === role && entry.precision === precision);
  if (!file) throw new Error(`${manifest.name}: no ${precision} ${role} in manifest.json`);
  return file;
}
