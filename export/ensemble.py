"""Several ONNX models on the same input as one graph that outputs the mean of their outputs.

Models trained alike from different seeds err in different places: on the wake-word benchmark
one seed's recall at one false accept per half hour differed from another's by 20 points. The
mean of two helped three of the four phrases and hurt view glass (benchmarks/WAKEWORD.md, 'Two
models instead of one'). The merged graph runs each member on the same features (computed once
by the runtime) and averages their logits with one Mean node.

With a gate (two-label models: background and the wake word), the other members run only when
the first member gives the wake word at least that probability on some window of the batch (an
ONNX If node), and a window the first member scores below the gate gets the first member's
logits alone. On a stream nearly every window is far below any threshold in use, so the
ensemble then costs about one model's CPU, and its events at thresholds above the gate are
those of the plain mean whenever the first member's score is at least the gate on every window
in the smoothing. onnxruntime (1.32) fuses the quantized ops of the main graph into int8 kernels
but not those inside the If's branch, which it runs as dequantize -> float op -> quantize: exact,
as the runtime's fallback for CPUs without VNNI is (edge.model.session_options), so where the
fused kernels are used the other members' logits differ from theirs alone by int8 rounding.
"""
from __future__ import annotations

import math
from pathlib import Path


def mean_of_models(paths, out, gate: float = 0.0) -> None:
    """Write to `out` one graph holding every model of `paths` (same input and output names and
    shapes, same opset) whose output is the elementwise mean of theirs. The first model's
    metadata is kept; inner names are compacted (export.quantize.compact_names).
    gate in (0, 1): the others run only where the first gives its second label at least this
    probability (two-label logits only; module docstring); 0: always."""
    import onnx
    from onnx import TensorProto, helper

    from .quantize import compact_names, rename_tensors

    paths = [Path(p) for p in paths]
    if len(paths) < 2:
        raise ValueError("an ensemble needs at least two models")
    if not 0 <= gate < 1:
        raise ValueError(f"gate must be in [0, 1), got {gate}")
    models = [onnx.load(str(p)) for p in paths]
    first = models[0].graph
    inp, outp = first.input[0].name, first.output[0].name
    for p, m in zip(paths, models):
        g = m.graph
        if [v.name for v in g.input] != [inp] or [v.name for v in g.output] != [outp] or \
                g.input[0].type != first.input[0].type or m.opset_import != models[0].opset_import:
            raise ValueError(f"{p}: its input, output or opset differs from {paths[0]}'s; it cannot join the ensemble")
    dims = first.output[0].type.tensor_type.shape.dim
    if gate and (len(dims) != 2 or dims[1].dim_value != 2):
        raise ValueError(f"{paths[0]}: a gate needs two-label logits [batch, 2]")
    members, inits, outs = [], [], []
    for k, m in enumerate(models):
        renamed: dict = {}

        def name(n: str, k=k, renamed=renamed) -> str:
            return n if not n or n == inp else renamed.setdefault(n, f"m{k}_{n}")

        nodes = []
        for node in m.graph.node:
            copy = onnx.NodeProto()
            copy.CopyFrom(node)
            copy.name = f"m{k}_{node.name}"
            rename_tensors(copy, name)
            nodes.append(copy)
        members.append(nodes)
        for t in m.graph.initializer:
            copy = onnx.TensorProto()
            copy.CopyFrom(t)
            copy.name = name(t.name)
            inits.append(copy)
        outs.append(name(m.graph.output[0].name))
    if not gate:
        nodes = [n for ns in members for n in ns] + [helper.make_node("Mean", outs, [outp], name="mean_of_models")]
    else:
        # margin = logit(wake) - logit(background) of the first member; hit[b] = margin >= logit(gate)
        inits += [helper.make_tensor("gate_index", TensorProto.INT64, [], [1]), helper.make_tensor("gate_zero", TensorProto.INT64, [], [0]),
                  helper.make_tensor("gate_margin", TensorProto.FLOAT, [], [math.log(gate / (1 - gate))]),
                  helper.make_tensor("gate_axis", TensorProto.INT64, [1], [1])]
        o0 = outs[0]
        gate_nodes = [helper.make_node("Gather", [o0, "gate_index"], ["gate_wake"], axis=1),
                      helper.make_node("Gather", [o0, "gate_zero"], ["gate_bg"], axis=1),
                      helper.make_node("Sub", ["gate_wake", "gate_bg"], ["gate_d"]),
                      helper.make_node("GreaterOrEqual", ["gate_d", "gate_margin"], ["gate_hit"]),
                      helper.make_node("Cast", ["gate_hit"], ["gate_hitf"], to=TensorProto.FLOAT),
                      helper.make_node("ReduceMax", ["gate_hitf"], ["gate_any"], keepdims=0),
                      helper.make_node("Cast", ["gate_any"], ["gate_cond"], to=TensorProto.BOOL)]
        logits = lambda n: helper.make_tensor_value_info(n, TensorProto.FLOAT, None)  # noqa: E731
        then = helper.make_graph(
            [n for ns in members[1:] for n in ns] + [
                helper.make_node("Mean", outs, ["gate_mean"], name="mean_of_models"),
                helper.make_node("Unsqueeze", ["gate_hit", "gate_axis"], ["gate_hit2"]),
                helper.make_node("Where", ["gate_hit2", "gate_mean", o0], ["gate_then"])],
            "all_members", [], [logits("gate_then")])
        other = helper.make_graph([helper.make_node("Identity", [o0], ["gate_else"])], "first_member", [], [logits("gate_else")])
        nodes = members[0] + gate_nodes + [helper.make_node("If", ["gate_cond"], [outp], name="gate", then_branch=then, else_branch=other)]
    graph = helper.make_graph(nodes, "mean_of_models", [first.input[0]], [first.output[0]], inits)
    merged = helper.make_model(graph, opset_imports=models[0].opset_import)
    merged.ir_version = models[0].ir_version
    for prop in models[0].metadata_props:
        merged.metadata_props.add(key=prop.key, value=prop.value)
    onnx.checker.check_model(merged)
    onnx.save(merged, str(out))
    compact_names(out)
