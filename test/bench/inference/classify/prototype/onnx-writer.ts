// PROTOTYPE (benchmark only): the product's ONNX writer (services/inference/src/classify/scorers/onnx-graph-writer.ts)
// plus large raw initializers, for the kernels of prepacked-kernels.ts and int8-rescoring.ts.
import { ONNX_FLOAT, ProtoWriter, writeOnnxModel } from "../../../../../services/inference/src/classify/scorers/onnx-graph-writer.ts";

export * from "../../../../../services/inference/src/classify/scorers/onnx-graph-writer.ts";

/** float32 `logits = species · queries_t` with both as inputs (species-major): the plain screening GEMM. */
export function speciesMajorMatMulModel(dim: number, name = "f32"): Uint8Array {
  return writeOnnxModel({
    name,
    opset: 17,
    inputs: [
      { name: "species", elemType: ONNX_FLOAT, shape: ["rows", dim] },
      { name: "queries_t", elemType: ONNX_FLOAT, shape: [dim, "batch"] },
    ],
    outputs: [{ name: "logits", elemType: ONNX_FLOAT, shape: ["rows", "batch"] }],
    nodes: [{ op: "MatMul", inputs: ["species", "queries_t"], outputs: ["logits"] }],
  });
}

/** A large constant tensor stored as raw little-endian bytes (TensorProto.raw_data). */
export interface RawInitializer {
  readonly name: string;
  readonly elemType: number;
  readonly dims: readonly number[];
  readonly raw: Uint8Array;
}

/**
 * Adds initializers of any size to a written model without copying them through ProtoWriter's byte array: a
 * second GraphProto holding only them is appended as another ModelProto.graph field, which protobuf parsers merge
 * into the first (repeated fields concatenate).
 */
export function withRawInitializers(model: Uint8Array, tensors: readonly RawInitializer[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const t of tensors) {
    const head = new ProtoWriter();
    for (const d of t.dims) head.int(1, d);
    head.int(2, t.elemType).string(8, t.name);
    const headBytes = head.finish();
    const rawKey = lengthPrefix(9, t.raw.length);
    parts.push(lengthPrefix(5, headBytes.length + rawKey.length + t.raw.length), headBytes, rawKey, t.raw);
  }
  const graphLength = parts.reduce((n, p) => n + p.length, 0);
  const all = [model, lengthPrefix(7, graphLength), ...parts];
  const out = new Uint8Array(all.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of all) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The key and length of a length-delimited field. */
function lengthPrefix(field: number, length: number): Uint8Array {
  const bytes: number[] = [];
  for (let v = BigInt((field << 3) | 2); ; v >>= 7n) {
    if (v < 0x80n) { bytes.push(Number(v)); break; }
    bytes.push(Number(v & 0x7fn) | 0x80);
  }
  for (let v = BigInt(length); ; v >>= 7n) {
    if (v < 0x80n) { bytes.push(Number(v)); break; }
    bytes.push(Number(v & 0x7fn) | 0x80);
  }
  return Uint8Array.from(bytes);
}
