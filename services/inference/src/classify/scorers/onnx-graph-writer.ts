/**
 * Just enough of the protobuf wire format to write a small ONNX graph at run time (ModelProto → GraphProto →
 * NodeProto / ValueInfoProto / AttributeProto). Field numbers are those of onnx/onnx.proto.
 */

export class ProtoWriter {
  private readonly bytes: number[] = [];

  private varint(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.bytes.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.bytes.push(Number(v));
  }

  private key(field: number, wireType: number): void {
    this.varint((field << 3) | wireType);
  }

  int(field: number, value: number): this {
    this.key(field, 0);
    this.varint(value);
    return this;
  }

  float(field: number, value: number): this {
    this.key(field, 5);
    const b = new Uint8Array(new Float32Array([value]).buffer);
    this.bytes.push(...b);
    return this;
  }

  bytesField(field: number, value: Uint8Array): this {
    this.key(field, 2);
    this.varint(value.length);
    for (const b of value) this.bytes.push(b);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytesField(field, new TextEncoder().encode(value));
  }

  message(field: number, build: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    build(inner);
    return this.bytesField(field, inner.finish());
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

export const ONNX_FLOAT = 1;
export const ONNX_UINT8 = 2;
export const ONNX_INT8 = 3;
export const ONNX_INT32 = 6;
export const ONNX_INT64 = 7;
export const ONNX_DOUBLE = 11;

export type Dim = number | string;

export interface ValueInfo {
  readonly name: string;
  readonly elemType: number;
  readonly shape: readonly Dim[];
}

export type Attribute =
  | { readonly name: string; readonly float: number }
  | { readonly name: string; readonly int: number }
  | { readonly name: string; readonly ints: readonly number[] }
  | { readonly name: string; readonly string: string };

export interface NodeSpec {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes?: readonly Attribute[];
  /** Operator set domain, e.g. 'com.microsoft' for ONNX Runtime's contrib operators (default: ONNX's). */
  readonly domain?: string;
}

/** A small constant tensor (graph initializer), int64 or float. */
export type ConstantSpec =
  | { readonly name: string; readonly elemType: typeof ONNX_INT64; readonly dims: readonly number[]; readonly int64: readonly number[] }
  | { readonly name: string; readonly elemType: typeof ONNX_FLOAT; readonly dims: readonly number[]; readonly float: readonly number[] };

export interface GraphSpec {
  readonly name: string;
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  readonly nodes: readonly NodeSpec[];
  readonly constants?: readonly ConstantSpec[];
  readonly opset: number;
  /** Further operator sets, e.g. { domain: 'com.microsoft', version: 1 }. */
  readonly opsetImports?: readonly { readonly domain: string; readonly version: number }[];
}

const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_INTS = 7;

function writeValueInfo(w: ProtoWriter, v: ValueInfo): void {
  w.string(1, v.name).message(2, (type) =>
    type.message(1, (tensor) =>
      tensor.int(1, v.elemType).message(2, (shape) => {
        for (const d of v.shape) shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
      }),
    ),
  );
}

function writeAttribute(w: ProtoWriter, a: Attribute): void {
  w.string(1, a.name);
  if ('float' in a) w.float(2, a.float).int(20, ATTR_FLOAT);
  else if ('int' in a) w.int(3, a.int).int(20, ATTR_INT);
  else if ('string' in a) w.string(4, a.string).int(20, ATTR_STRING);
  else {
    for (const i of a.ints) w.int(8, i);
    w.int(20, ATTR_INTS);
  }
}

/** TensorProto: dims = 1, data_type = 2, float_data = 4, int64_data = 7, name = 8. */
function writeConstant(w: ProtoWriter, c: ConstantSpec): void {
  for (const d of c.dims) w.int(1, d);
  w.int(2, c.elemType);
  if ('int64' in c) for (const v of c.int64) w.int(7, v);
  else for (const v of c.float) w.float(4, v);
  w.string(8, c.name);
}

/** Serialises a single-graph ONNX model (IR version 8). */
export function writeOnnxModel(spec: GraphSpec): Uint8Array {
  const model = new ProtoWriter();
  model.int(1, 8).string(2, 'arbor-classify');
  model.message(7, (graph) => {
    spec.nodes.forEach((n, i) =>
      graph.message(1, (node) => {
        for (const x of n.inputs) node.string(1, x);
        for (const y of n.outputs) node.string(2, y);
        node.string(3, `${n.op.toLowerCase()}_${i}`).string(4, n.op);
        for (const a of n.attributes ?? []) node.message(5, (attr) => writeAttribute(attr, a));
        if (n.domain) node.string(7, n.domain);
      }),
    );
    graph.string(2, spec.name);
    for (const c of spec.constants ?? []) graph.message(5, (t) => writeConstant(t, c));
    for (const v of spec.inputs) graph.message(11, (vi) => writeValueInfo(vi, v));
    for (const v of spec.outputs) graph.message(12, (vi) => writeValueInfo(vi, v));
  });
  model.message(8, (opset) => opset.string(1, '').int(2, spec.opset));
  for (const o of spec.opsetImports ?? []) model.message(8, (opset) => opset.string(1, o.domain).int(2, o.version));
  return model.finish();
}
