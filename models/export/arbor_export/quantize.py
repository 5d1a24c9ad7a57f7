"""int8 encoders for CPU: dynamic quantisation of an exported float32 ONNX graph.

    /usr/bin/python3 -m arbor_export.quantize --package ../build/vit-l-14-random [--roles image_encoder,text_encoder]

adds `image_encoder.int8.onnx` and `text_encoder.int8.onnx` (precision `int8`) to an existing
package and to its manifest (`arbor_export.export --int8` does the same while exporting). onnxruntime's own quantiser is not available here (no PyPI), so the
rewrite is done with the onnx package alone:

- every MatMul (and Gemm) whose B is a float32 weight becomes the standard ONNX dynamic pattern
  DynamicQuantizeLinear(A) -> MatMulInteger(uint8 A, int8 B) -> Cast -> Mul(a_scale * b_scale[n])
  (-> Add bias). onnxruntime's CPU graph optimiser fuses that chain into its contrib op
  DynamicQuantizeMatMul (bias included), which runs the u8s8 GEMM with AVX-512 VNNI where the
  CPU has it. `--format contrib` writes DynamicQuantizeMatMul directly (onnxruntime only).
- weights are symmetric int8, one scale per output column (per-channel) by default;
  activations are quantised per tensor, at run time, to uint8 with a zero point.
- LayerNorm, Softmax, GELU (Erf), the attention products (activation x activation), the patch
  embedding Conv and the text token table stay float32. So does the output projection (the
  MatMul that writes the graph output acts on one pooled row per input: no time to win, one
  error source less; `--quantize-projections` includes it).

The files keep the fp32 interface (float32 pixel_values / int64 input_ids in, float32 embeddings
out), so a caller swaps them for the fp32 ones without code changes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .fuse_attention import FUSED_OP, uses_fused_attention
from .manifest import PackageFile, describe_file
from .onnx_export import save_model
from .package_readme import render_readme

INT8_MAX = 127
FORMATS = ("onnx", "contrib")
MS_DOMAIN = "com.microsoft"


@dataclass
class QuantizeReport:
    quantized: List[str] = field(default_factory=list)
    kept_fp32: Dict[str, str] = field(default_factory=dict)  # node name -> why
    weight_bytes_fp32: int = 0
    weight_bytes_int8: int = 0
    # Worst relative Frobenius error of a dequantised weight matrix, a cheap sanity figure.
    max_weight_relative_error: float = 0.0

    def summary(self) -> Dict[str, object]:
        return {
            "quantizedMatMuls": len(self.quantized),
            "keptFp32": self.kept_fp32,
            "weightBytesFp32": self.weight_bytes_fp32,
            "weightBytesInt8": self.weight_bytes_int8,
            "maxWeightRelativeError": round(self.max_weight_relative_error, 6),
        }


def quantize_weight(weight: np.ndarray, per_channel: bool) -> Tuple[np.ndarray, np.ndarray]:
    """float32 [K, N] -> (int8 [K, N], float32 scale [N] or scalar), symmetric, zero point 0."""
    if per_channel:
        peak = np.abs(weight).max(axis=0)
    else:
        peak = np.asarray(np.abs(weight).max())
    scale = np.where(peak > 0, peak / INT8_MAX, 1.0).astype(np.float32)
    q = np.clip(np.rint(weight / scale), -INT8_MAX, INT8_MAX).astype(np.int8)
    return q, scale


def _gemm_weight(node: onnx.NodeProto, weight: np.ndarray) -> Optional[np.ndarray]:
    """B of a Gemm as a [K, N] matrix, or None if the Gemm is not a plain A @ B (+ C)."""
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if attrs.get("transA", 0) != 0 or attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0:
        return None
    return weight.T if attrs.get("transB", 0) else weight


def quantize_dynamic(
    model: onnx.ModelProto,
    *,
    per_channel: bool = True,
    op_format: str = "onnx",
    quantize_projection: bool = False,
) -> Tuple[onnx.ModelProto, QuantizeReport]:
    """A copy of `model` with its weight MatMuls/Gemms dynamically quantised to int8."""
    if op_format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {op_format!r}")
    report = QuantizeReport()
    out = onnx.ModelProto()
    out.CopyFrom(model)
    graph = out.graph
    inits = {t.name: t for t in graph.initializer}
    consumers: Dict[str, List[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    graph_outputs = {o.name for o in graph.output}

    def bias_add(matmul: onnx.NodeProto) -> Optional[Tuple[onnx.NodeProto, str]]:
        """The Add of a float 1-D bias that alone consumes this MatMul's output (a linear layer)."""
        result = matmul.output[0]
        users = consumers.get(result, [])
        if result in graph_outputs or len(users) != 1 or users[0].op_type != "Add" or len(users[0].input) != 2:
            return None
        add = users[0]
        other = add.input[1] if add.input[0] == result else add.input[0]
        tensor = inits.get(other)
        if tensor is None or tensor.data_type != TensorProto.FLOAT or len(tensor.dims) != 1:
            return None
        return add, other

    new_nodes: List[onnx.NodeProto] = []
    new_inits: List[TensorProto] = []
    unused_weights: Set[str] = set()
    folded_adds: Set[int] = set()

    for node in graph.node:
        if id(node) in folded_adds:
            continue
        if node.op_type not in ("MatMul", "Gemm") or len(node.input) < 2 or node.input[1] not in inits:
            new_nodes.append(node)
            continue
        weight_tensor = inits[node.input[1]]
        name = node.name or node.output[0]
        if weight_tensor.data_type != TensorProto.FLOAT or len(weight_tensor.dims) != 2:
            report.kept_fp32[name] = "weight is not a float32 matrix"
            new_nodes.append(node)
            continue
        if not quantize_projection and node.output[0] in graph_outputs:
            report.kept_fp32[name] = "output projection (one pooled row per input)"
            new_nodes.append(node)
            continue
        weight = numpy_helper.to_array(weight_tensor)
        result = node.output[0]
        bias: Optional[str] = None
        if node.op_type == "Gemm":
            matrix = _gemm_weight(node, weight)
            if matrix is None:
                report.kept_fp32[name] = "Gemm with transA, alpha or beta"
                new_nodes.append(node)
                continue
            weight = matrix
            bias = node.input[2] if len(node.input) > 2 and node.input[2] else None
        else:
            found = bias_add(node)
            if found is not None:
                add, bias = found
                result = add.output[0]
                folded_adds.add(id(add))

        q, scale = quantize_weight(weight, per_channel)
        dequant = q.astype(np.float32) * scale
        rel = float(np.linalg.norm(dequant - weight) / max(float(np.linalg.norm(weight)), 1e-30))
        report.max_weight_relative_error = max(report.max_weight_relative_error, rel)
        report.weight_bytes_fp32 += weight.nbytes
        report.weight_bytes_int8 += q.nbytes + scale.nbytes
        report.quantized.append(name)
        if all(user is node for user in consumers[node.input[1]]):
            unused_weights.add(node.input[1])

        prefix = f"{name}/int8"
        q_name, scale_name = f"{prefix}/B_quantized", f"{prefix}/B_scale"
        new_inits += [numpy_helper.from_array(q, q_name), numpy_helper.from_array(scale, scale_name)]
        if op_format == "contrib":
            inputs = [node.input[0], q_name, scale_name] + (["", bias] if bias else [])
            new_nodes.append(helper.make_node("DynamicQuantizeMatMul", inputs, [result], name=f"{prefix}/DynamicQuantizeMatMul", domain=MS_DOMAIN))
            continue
        a_q, a_scale, a_zp = f"{prefix}/A_quantized", f"{prefix}/A_scale", f"{prefix}/A_zero_point"
        scaled = f"{prefix}/Y_scaled" if bias else result
        new_nodes += [
            helper.make_node("DynamicQuantizeLinear", [node.input[0]], [a_q, a_scale, a_zp], name=f"{prefix}/DynamicQuantizeLinear"),
            helper.make_node("MatMulInteger", [a_q, q_name, a_zp], [f"{prefix}/Y_int32"], name=f"{prefix}/MatMulInteger"),
            helper.make_node("Cast", [f"{prefix}/Y_int32"], [f"{prefix}/Y_float"], name=f"{prefix}/Cast", to=TensorProto.FLOAT),
            # (a_scale, b_scale) in this order and the bias as the Add's second input: the shape
            # onnxruntime's MatMulIntegerToFloat / DynamicQuantizeMatMul fusions look for.
            helper.make_node("Mul", [a_scale, scale_name], [f"{prefix}/scale"], name=f"{prefix}/MulScales"),
            helper.make_node("Mul", [f"{prefix}/Y_float", f"{prefix}/scale"], [scaled], name=f"{prefix}/Mul"),
        ]
        if bias:
            new_nodes.append(helper.make_node("Add", [scaled, bias], [result], name=f"{prefix}/AddBias"))

    del graph.node[:]
    graph.node.extend(new_nodes)
    kept = [t for t in graph.initializer if t.name not in unused_weights]
    del graph.initializer[:]
    graph.initializer.extend(kept + new_inits)
    # Shapes recorded for values that no longer exist would only confuse a reader of the graph.
    existing = {o for n in graph.node for o in n.output}
    kept_info = [v for v in graph.value_info if v.name in existing]
    del graph.value_info[:]
    graph.value_info.extend(kept_info)
    if op_format == "contrib" and not any(o.domain == MS_DOMAIN for o in out.opset_import):
        out.opset_import.append(helper.make_opsetid(MS_DOMAIN, 1))
    return out, report


# ---------------------------------------------------------------- package (manifest) level


def _set_precision_metadata(model: onnx.ModelProto, quantization: Dict[str, object]) -> None:
    entries = {p.key: p.value for p in model.metadata_props}
    entries["arbor.precision"] = "int8"
    entries["arbor.quantization"] = json.dumps(quantization, sort_keys=True)
    del model.metadata_props[:]
    for key, value in sorted(entries.items()):
        prop = model.metadata_props.add()
        prop.key, prop.value = key, value
    model.doc_string = (model.doc_string + " [int8 dynamic quantisation]").strip()


@dataclass(frozen=True)
class Int8Options:
    per_channel: bool = True
    op_format: str = "onnx"
    quantize_projection: bool = False


ENCODER_ROLES = ("image_encoder", "text_encoder")


def parse_roles(text: str) -> List[str]:
    """`image_encoder,text_encoder` -> a list; ValueError naming any unknown role."""
    roles = [r.strip() for r in text.split(",") if r.strip()]
    unknown = sorted(set(roles) - set(ENCODER_ROLES))
    if unknown or not roles:
        raise ValueError(f"unknown encoder roles {unknown} (expected a comma-separated subset of {','.join(ENCODER_ROLES)})")
    return roles


def write_int8_encoder(package: Path, source: Dict[str, object], options: Int8Options) -> Tuple[PackageFile, Dict[str, object], QuantizeReport]:
    """Quantises the fp32 encoder that the manifest entry `source` describes into `<role>.int8.onnx` beside it.

    Returns the new file's manifest entry (to describe), how it was made (the manifest's `quantization`
    record for the role) and the report. The file is written beside its final name and renamed, so an
    interrupted run leaves no half file."""
    role = str(source["role"])
    target = package / f"{role}.int8.onnx"
    fp32 = onnx.load(str(package / str(source["path"])))
    if uses_fused_attention(fp32):
        raise SystemExit(f"{source['path']}: its attention is fused into {FUSED_OP}, whose QKV weights this quantiser "
                         "cannot reach; quantise the portable graph instead: re-export with --int8 (it quantises "
                         "before fusing) or with --attention standard")
    int8, report = quantize_dynamic(fp32, per_channel=options.per_channel, op_format=options.op_format,
                                     quantize_projection=options.quantize_projection)
    del fp32
    quantization = {
        "method": "dynamic",
        "weights": "int8 symmetric " + ("per output channel" if options.per_channel else "per tensor"),
        "activations": "uint8 per tensor, at run time (DynamicQuantizeLinear)",
        "format": options.op_format,
        "from": source["path"],
        "fromSha256": source["sha256"],
        **report.summary(),
    }
    _set_precision_metadata(int8, quantization)
    staging = package / f".{target.name}.partial-{os.getpid()}"
    try:
        saved = save_model(int8, staging, "auto")
        if saved.external_data is not None:
            raise SystemExit(f"{role}: int8 graph unexpectedly over 2 GB")
        os.replace(staging, target)
    finally:
        if staging.exists():
            staging.unlink()
    return PackageFile(target.name, role, "int8"), quantization, report


def describe_report(role: str, report: QuantizeReport, file_bytes: int) -> str:
    return (f"{role}: {len(report.quantized)} MatMuls -> int8, {len(report.kept_fp32)} kept fp32, "
            f"weights {report.weight_bytes_fp32 / 2**20:.1f} -> {report.weight_bytes_int8 / 2**20:.1f} MiB, "
            f"file {file_bytes / 2**20:.1f} MiB, max weight error {report.max_weight_relative_error:.4f}")


def quantize_package(package: Path, roles: List[str], options: Int8Options, *, force: bool, log=print) -> Dict[str, object]:
    """Adds int8 encoders to an existing package and lists them in its manifest (and README)."""
    manifest_path = package / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    files: List[Dict[str, object]] = manifest["files"]
    written: List[Dict[str, object]] = []
    details: Dict[str, object] = {}
    for role in roles:
        source = next((f for f in files if f["role"] == role and f["precision"] == "fp32"), None)
        if source is None:
            raise SystemExit(f"{manifest_path}: no fp32 {role} to quantise")
        target_name = f"{role}.int8.onnx"
        existing = [f for f in files if f["role"] in (role, "external_data") and f["precision"] == "int8"
                    and (f["path"] == target_name or f.get("dataFor") == target_name)]
        if (existing or (package / target_name).exists()) and not force:
            raise SystemExit(f"{package / target_name} exists; pass --force to replace it")
        t0 = time.perf_counter()
        written_file, quantization, report = write_int8_encoder(package, source, options)
        entry = describe_file(package, written_file)
        files[:] = [f for f in files if f not in existing]
        written.append(entry)
        details[role] = quantization
        log(f"{describe_report(role, report, int(entry['bytes']))}, {time.perf_counter() - t0:.1f}s")

    # int8 entries go after the other encoders of their role, so the listing stays grouped.
    for entry in written:
        last = max((i for i, f in enumerate(files) if f["role"] == entry["role"]), default=len(files) - 1)
        files.insert(last + 1, entry)
    manifest["quantization"] = {**manifest.get("quantization", {}), **details}
    tmp = manifest_path.with_name(f".{manifest_path.name}.partial-{os.getpid()}")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(tmp, manifest_path)
    (package / "README.md").write_text(render_readme(manifest))
    return {"package": str(package), "files": written}


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="arbor_export.quantize", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--package", type=Path, required=True, help="package directory with manifest.json and fp32 encoders")
    p.add_argument("--roles", default="image_encoder,text_encoder", help="comma-separated: image_encoder,text_encoder")
    p.add_argument("--per-tensor", action="store_true", help="one weight scale per matrix instead of per output channel")
    p.add_argument("--format", choices=FORMATS, default="onnx",
                   help="onnx: standard ops that onnxruntime fuses (default); contrib: com.microsoft DynamicQuantizeMatMul")
    p.add_argument("--quantize-projections", action="store_true", help="also quantise the output projection (the MatMul writing the embedding)")
    p.add_argument("--force", action="store_true", help="replace existing int8 encoders")
    args = p.parse_args(argv)
    try:
        args.role_list = parse_roles(args.roles)
    except ValueError as error:
        p.error(f"--roles: {error}")
    return args


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    package = args.package.resolve()
    if not (package / "manifest.json").is_file():
        print(f"[arbor_export.quantize] {package}/manifest.json not found", file=sys.stderr)
        return 2
    options = Int8Options(per_channel=not args.per_tensor, op_format=args.format, quantize_projection=args.quantize_projections)
    result = quantize_package(package, args.role_list, options, force=args.force,
                              log=lambda m: print(f"[arbor_export.quantize] {m}", flush=True))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
