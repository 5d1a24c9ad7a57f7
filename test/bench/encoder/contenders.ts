import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { sessionOptions } from "../../../services/inference/src/sessions/create-session.ts";
import type { Contender } from "./measure.ts";
import { encoderFile, type EncoderRole, type PackageManifest } from "./package.ts";
import type { TorchWorker } from "./torch-worker.ts";

export type EncoderInput =
  | { kind: "image"; data: Float32Array; dims: readonly number[] }
  | { kind: "text"; data: BigInt64Array; dims: readonly number[] };

/** PyTorch on `input`, which is written once to `workDir` for the worker to read. */
export function torchContender(worker: TorchWorker, input: EncoderInput, workDir: string): Contender {
  const tag = `${input.kind}-b${input.dims[0]}`;
  const inputPath = join(workDir, `${tag}.input.bin`);
  const outputPath = join(workDir, `${tag}.torch-output.f32`);
  writeFileSync(inputPath, new Uint8Array(input.data.buffer, input.data.byteOffset, input.data.byteLength));
  return {
    key: "PyTorch fp32",
    runtime: "PyTorch",
    precision: "fp32",
    async run() {
      const { ms } = await worker.request<{ ms: number }>({
        cmd: "run",
        encoder: input.kind,
        input: inputPath,
        dtype: input.kind === "image" ? "float32" : "int64",
        shape: input.dims,
        output: outputPath,
      });
      const bytes = readFileSync(outputPath);
      return { ms, output: new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)) };
    },
  };
}

export interface OrtEncoder {
  precision: string;
  file: string;
  session: ort.InferenceSession;
  openMs: number;
}

/**
 * Opens one encoder of the package with the inference service's own CPU session options. `spinning` is the service's
 * INFERENCE_SPIN_WAIT (off there by default). Several sessions are open at once here: with spinning on, one session's
 * idle threads spin while the next one runs and take its cores.
 */
export async function openOrtEncoder(
  packageDir: string,
  manifest: PackageManifest,
  role: EncoderRole,
  precision: string,
  threads: number,
  spinning: boolean,
): Promise<OrtEncoder> {
  const file = encoderFile(manifest, role, precision).path;
  const options = sessionOptions(["cpu"], { providers: ["cpu"], intraOpThreads: threads, interOpThreads: 1, spinWait: spinning, cudaDeviceId: 0 });
  const start = performance.now();
  const session = await ort.InferenceSession.create(join(packageDir, file), options);
  return { precision, file, session, openMs: performance.now() - start };
}

export function ortContender(encoder: OrtEncoder, manifest: PackageManifest, input: EncoderInput): Contender {
  const io = input.kind === "image" ? manifest.io.image : manifest.io.text;
  const tensor = input.kind === "image" ? new ort.Tensor("float32", input.data, [...input.dims]) : new ort.Tensor("int64", input.data, [...input.dims]);
  return {
    key: `ORT ${encoder.precision}`,
    runtime: "ONNX Runtime",
    precision: encoder.precision,
    async run() {
      const start = performance.now();
      const result = await encoder.session.run({ [io.input]: tensor });
      const ms = performance.now() - start;
      return { ms, output: result[io.output]!.data as Float32Array };
    },
  };
}
