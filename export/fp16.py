"""float16 weights and activations with onnxconverter-common, made loadable.

onnxconverter-common (1.15+) marks the output of every ``Cast(to=FLOAT)`` it finds as float16
but leaves the node casting to float32; ONNX Runtime then refuses the graph ("Type
(tensor(float16)) of output arg ... does not match expected type (tensor(float))"). Exporters
leave such casts behind, often as no-ops (float32 to float32). So before converting, no-op casts
become Identity; after converting, any Cast still targeting float32 whose output the graph
declares float16 is pointed at float16. The result is then loaded in ONNX Runtime and compared
with the float32 graph, so a graph that would not load never reaches the user.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

CHECK_BATCH = 2  # a symbolic batch axis is test-run with this many items
CHECK_LENGTH = 16_000  # and any other symbolic axis with this length (1 s of 16 kHz audio)


def _elem_types(model) -> dict:
    """Element type of every tensor the graph declares or shape inference can tell."""
    import onnx

    inferred = onnx.shape_inference.infer_shapes(model)
    g = inferred.graph
    types = {t.name: t.data_type for t in g.initializer}
    for v in list(g.input) + list(g.output) + list(g.value_info):
        if v.type.HasField("tensor_type"):
            types[v.name] = v.type.tensor_type.elem_type
    return types


def _cast_to(node) -> int:
    return next(a.i for a in node.attribute if a.name == "to")


def drop_noop_casts(model) -> int:
    """Turn every Cast whose input already has the target type into Identity; returns how many."""
    types = _elem_types(model)
    n = 0
    for node in model.graph.node:
        if node.op_type == "Cast" and node.domain in ("", "ai.onnx") and types.get(node.input[0]) == _cast_to(node):
            node.op_type = "Identity"
            del node.attribute[:]
            n += 1
    return n


def repair_float_casts(model) -> int:
    """Point Cast(to=FLOAT) nodes at FLOAT16 where the converted graph declares their output float16."""
    from onnx import TensorProto

    declared = {v.name: v.type.tensor_type.elem_type for v in list(model.graph.value_info) + list(model.graph.output)}
    n = 0
    for node in model.graph.node:
        if node.op_type == "Cast" and _cast_to(node) == TensorProto.FLOAT and declared.get(node.output[0]) == TensorProto.FLOAT16:
            for a in node.attribute:
                if a.name == "to":
                    a.i = TensorProto.FLOAT16
            n += 1
    return n


def to_float16(src, dst) -> dict:
    """Convert src to float16 (inputs and outputs stay float32) into dst; returns the step record."""
    import onnx
    import onnxruntime as ort
    from onnxconverter_common import float16

    from edge.model import session_options

    model = onnx.load(str(src))
    dropped = drop_noop_casts(model)
    converted = float16.convert_float_to_float16(model, keep_io_types=True)
    repaired = repair_float_casts(converted)
    onnx.save(converted, str(dst))
    try:
        sess = ort.InferenceSession(str(dst), session_options(), providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime's own exception types; say which graph and why
        raise ValueError(f"float16 graph {dst} does not load in onnxruntime: {str(e).splitlines()[0][:200]}") from None
    ref = ort.InferenceSession(str(src), session_options(), providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    shape = [d if isinstance(d, int) else (CHECK_BATCH if i == 0 else CHECK_LENGTH) for i, d in enumerate(inp.shape)]
    x = (np.random.default_rng(0).standard_normal(shape) * 0.1).astype(np.float32)
    name = inp.name
    diff = float(np.abs(sess.run(None, {name: x})[0] - ref.run(None, {name: x})[0]).max())
    return {"step": "float16", "converter": "onnxconverter_common.float16.convert_float_to_float16", "keep_io_types": True,
            "noop_casts_dropped": dropped, "casts_repaired": repaired, "max_abs_output_diff_vs_fp32": diff,
            "bytes": Path(dst).stat().st_size}
