"""float32 ONNX graph -> float16 weights and compute, keeping float32 inputs and outputs.

torch 1.13 cannot trace a half-precision model on CPU (LayerNorm, addmm, ... have no CPU fp16
kernels), so the fp16 variant is derived from the exported float32 graph instead: every float
initializer and constant becomes float16, every Cast-to-float becomes Cast-to-float16, and a Cast
is put on each float graph input and output. The files therefore keep the fp32 contract
(`pixel_values` float32 in, `*_embeds` float32 out) and a caller can swap one for the other.

LayerNormalization keeps its default stash_type=1, so means and variances are still accumulated
in float32 by ONNX Runtime. Values outside float16's range are clamped, and counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

FP16_MAX = float(np.finfo(np.float16).max)


@dataclass
class Fp16Report:
    converted_tensors: int = 0
    clamped_values: int = 0
    underflowed_values: int = 0


def _to_fp16(tensor: TensorProto, report: Fp16Report) -> TensorProto:
    array = numpy_helper.to_array(tensor)
    finite = np.isfinite(array)
    too_big = finite & (np.abs(array) > FP16_MAX)
    report.clamped_values += int(too_big.sum())
    tiny = finite & (array != 0) & (np.abs(array) < np.finfo(np.float16).tiny / 1024)
    report.underflowed_values += int(tiny.sum())
    # Infinities (the causal mask's -inf) must stay infinite; only finite overflow is clamped.
    clipped = np.where(finite, np.clip(array, -FP16_MAX, FP16_MAX), array)
    report.converted_tensors += 1
    return numpy_helper.from_array(clipped.astype(np.float16), tensor.name)


def _convert_attribute(attr: onnx.AttributeProto, report: Fp16Report) -> None:
    if attr.type == onnx.AttributeProto.TENSOR and attr.t.data_type == TensorProto.FLOAT:
        attr.t.CopyFrom(_to_fp16(attr.t, report))
    elif attr.type == onnx.AttributeProto.TENSORS:
        for i, tensor in enumerate(attr.tensors):
            if tensor.data_type == TensorProto.FLOAT:
                attr.tensors[i].CopyFrom(_to_fp16(tensor, report))


def _convert_body(graph: onnx.GraphProto, report: Fp16Report) -> None:
    """Initializers, constants and casts of `graph` and of any subgraph (If/Loop bodies)."""
    for i, tensor in enumerate(graph.initializer):
        if tensor.data_type == TensorProto.FLOAT:
            graph.initializer[i].CopyFrom(_to_fp16(tensor, report))
    for node in graph.node:
        for attr in node.attribute:
            if node.op_type == "Cast" and attr.name == "to" and attr.i == TensorProto.FLOAT:
                attr.i = TensorProto.FLOAT16
            elif attr.type == onnx.AttributeProto.GRAPH:
                _convert_subgraph(attr.g, report)
            elif attr.type == onnx.AttributeProto.GRAPHS:
                for sub in attr.graphs:
                    _convert_subgraph(sub, report)
            else:
                _convert_attribute(attr, report)
    # Shapes inferred for the float32 graph would now carry the wrong element type.
    del graph.value_info[:]


def _convert_subgraph(graph: onnx.GraphProto, report: Fp16Report) -> None:
    # A subgraph's declared outputs carry its computed (now float16) values.
    for value in list(graph.input) + list(graph.output):
        if value.type.tensor_type.elem_type == TensorProto.FLOAT:
            value.type.tensor_type.elem_type = TensorProto.FLOAT16
    _convert_body(graph, report)


def convert_to_fp16(model: onnx.ModelProto) -> "tuple[onnx.ModelProto, Fp16Report]":
    """Return a float16 copy of `model` (the argument is left unchanged)."""
    report = Fp16Report()
    out = onnx.ModelProto()
    out.CopyFrom(model)
    graph = out.graph

    _convert_body(graph, report)

    renames: Dict[str, str] = {}
    cast_in: List[onnx.NodeProto] = []
    for graph_input in graph.input:
        if graph_input.type.tensor_type.elem_type == TensorProto.FLOAT:
            half_name = f"{graph_input.name}_fp16"
            renames[graph_input.name] = half_name
            cast_in.append(
                helper.make_node("Cast", [graph_input.name], [half_name], name=f"{graph_input.name}_to_fp16", to=TensorProto.FLOAT16)
            )
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name in renames:
                node.input[i] = renames[name]

    cast_out: List[onnx.NodeProto] = []
    for graph_output in graph.output:
        if graph_output.type.tensor_type.elem_type == TensorProto.FLOAT:
            half_name = f"{graph_output.name}_fp16"
            for node in graph.node:
                for i, name in enumerate(node.output):
                    if name == graph_output.name:
                        node.output[i] = half_name
            cast_out.append(
                helper.make_node("Cast", [half_name], [graph_output.name], name=f"{graph_output.name}_to_fp32", to=TensorProto.FLOAT)
            )

    nodes = cast_in + list(graph.node) + cast_out
    del graph.node[:]
    graph.node.extend(nodes)
    return out, report
