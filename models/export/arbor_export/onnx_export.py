"""torch -> ONNX for the two encoders, with external data for graphs past protobuf's 2 GB limit."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

import onnx
import torch
from onnx import external_data_helper

from .model import CLIP, ImageEncoder, TextEncoder

OPSET = 17  # first opset with LayerNormalization; onnxruntime >= 1.14 runs it on CPU and CUDA
PROTOBUF_LIMIT_BYTES = 2 * 1024**3
# Leave headroom under the hard limit for graph structure and metadata.
EXTERNAL_DATA_THRESHOLD_BYTES = PROTOBUF_LIMIT_BYTES - 64 * 1024**2

IMAGE_INPUT = "pixel_values"
IMAGE_OUTPUT = "image_embeds"
TEXT_INPUT = "input_ids"
TEXT_OUTPUT = "text_embeds"


@dataclass(frozen=True)
class WrittenModel:
    """An ONNX file written to disk, and its external-data file when there is one."""

    path: Path
    external_data: Path | None


def _text_dummy(model: CLIP) -> torch.Tensor:
    # Two rows whose eot sits at different positions, so nothing in the trace can specialise on it.
    cfg = model.config
    ids = torch.zeros(2, cfg.context_length, dtype=torch.int64)
    ids[:, 0] = cfg.vocab_size - 2  # sot
    ids[0, 1:4] = torch.tensor([320, 1125, 539])
    ids[0, 4] = cfg.vocab_size - 1  # eot
    ids[1, 1:9] = torch.arange(1000, 1008)
    ids[1, 9] = cfg.vocab_size - 1
    return ids


def initializer_bytes(model: onnx.ModelProto) -> int:
    total = 0
    for tensor in model.graph.initializer:
        if tensor.HasField("raw_data"):
            total += len(tensor.raw_data)
        else:
            total += onnx.numpy_helper.to_array(tensor).nbytes
    return total


def trace_to_onnx(model: CLIP, role: str, workdir: Path) -> onnx.ModelProto:
    """Trace one encoder and load the result as a ModelProto (external data pulled into memory)."""
    cfg = model.config
    if role == "image_encoder":
        module: torch.nn.Module = ImageEncoder(model).eval()
        dummy = torch.zeros(2, 3, cfg.image_size, cfg.image_size)
        input_name, output_name = IMAGE_INPUT, IMAGE_OUTPUT
    elif role == "text_encoder":
        module = TextEncoder(model).eval()
        dummy = _text_dummy(model)
        input_name, output_name = TEXT_INPUT, TEXT_OUTPUT
    else:
        raise ValueError(f"unknown encoder role {role!r}")

    # torch writes >2 GB graphs as one external file per tensor next to `f`; a private directory
    # keeps those out of the package, and onnx.load below gathers them back into memory.
    traced_path = workdir / f"{role}.traced.onnx"
    with torch.no_grad():
        torch.onnx.export(
            module,
            (dummy,),
            str(traced_path),
            input_names=[input_name],
            output_names=[output_name],
            dynamic_axes={input_name: {0: "batch"}, output_name: {0: "batch"}},
            opset_version=OPSET,
            do_constant_folding=True,
        )
    return onnx.load(str(traced_path), load_external_data=True)


def set_metadata(model: onnx.ModelProto, metadata: Dict[str, str], doc: str) -> None:
    del model.metadata_props[:]
    for key, value in sorted(metadata.items()):
        entry = model.metadata_props.add()
        entry.key = key
        entry.value = value
    model.doc_string = doc
    model.producer_name = "arbor_export"


def save_model(model: onnx.ModelProto, path: Path, external_data: str) -> WrittenModel:
    """Write `model` to `path`; weights go to `<name>.data` when asked or when they would not fit.

    external_data: "auto" (only past the protobuf limit), "always" or "never".
    """
    size = initializer_bytes(model)
    use_external = external_data == "always" or (external_data == "auto" and size > EXTERNAL_DATA_THRESHOLD_BYTES)
    if external_data == "never" and size > EXTERNAL_DATA_THRESHOLD_BYTES:
        raise ValueError(f"{path.name}: {size} bytes of weights cannot be stored inside one protobuf")
    path.parent.mkdir(parents=True, exist_ok=True)
    data_path = path.with_name(path.name + ".data")
    for stale in (path, data_path):
        if stale.exists():
            stale.unlink()
    if use_external:
        external_data_helper.convert_model_to_external_data(
            model, all_tensors_to_one_file=True, location=data_path.name, size_threshold=1024
        )
        onnx.save_model(model, str(path))
        # check_model by path follows external data references, and works past 2 GB.
        onnx.checker.check_model(str(path))
        # Leave the in-memory proto as it was (tensors inline) for any later conversion.
        external_data_helper.load_external_data_for_model(model, str(path.parent))
        return WrittenModel(path, data_path)
    onnx.checker.check_model(model)
    onnx.save_model(model, str(path))
    return WrittenModel(path, None)


def export_encoder(
    model: CLIP, role: str, path: Path, metadata: Dict[str, str], doc: str, external_data: str
) -> "tuple[onnx.ModelProto, WrittenModel]":
    with tempfile.TemporaryDirectory(prefix="arbor-export-", dir=os.environ.get("TMPDIR")) as tmp:
        proto = trace_to_onnx(model, role, Path(tmp))
    set_metadata(proto, metadata, doc)
    return proto, save_model(proto, path, external_data)


def op_histogram(model: onnx.ModelProto) -> List[str]:
    counts: Dict[str, int] = {}
    for node in model.graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return [f"{op}x{n}" for op, n in sorted(counts.items())]
