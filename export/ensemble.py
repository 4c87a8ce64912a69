"""Several ONNX models on the same input as one graph that outputs the mean of their outputs.

Models trained alike from different seeds err in different places: on the wake-word benchmark
one seed's recall at one false accept per half hour differed from another's by 20 points. The
mean of two helped three of the four phrases and hurt view glass (README). The merged graph
runs each member on the same features (computed once by the runtime) and averages their
logits with one Mean node.
"""
from __future__ import annotations

from pathlib import Path


def mean_of_models(paths, out) -> None:
    """Write to `out` one graph holding every model of `paths` (same input and output names and
    shapes, same opset) whose output is the elementwise mean of theirs. The first model's
    metadata is kept; inner names are compacted (export.quantize.compact_names)."""
    import onnx
    from onnx import helper

    from .quantize import compact_names, rename_tensors

    paths = [Path(p) for p in paths]
    if len(paths) < 2:
        raise ValueError("an ensemble needs at least two models")
    models = [onnx.load(str(p)) for p in paths]
    first = models[0].graph
    inp, outp = first.input[0].name, first.output[0].name
    for p, m in zip(paths, models):
        g = m.graph
        if [v.name for v in g.input] != [inp] or [v.name for v in g.output] != [outp] or \
                g.input[0].type != first.input[0].type or m.opset_import != models[0].opset_import:
            raise ValueError(f"{p}: its input, output or opset differs from {paths[0]}'s; it cannot join the ensemble")
    nodes, inits, outs = [], [], []
    for k, m in enumerate(models):
        renamed: dict = {}

        def name(n: str, k=k, renamed=renamed) -> str:
            return n if not n or n == inp else renamed.setdefault(n, f"m{k}_{n}")

        for node in m.graph.node:
            copy = onnx.NodeProto()
            copy.CopyFrom(node)
            copy.name = f"m{k}_{node.name}"
            rename_tensors(copy, name)
            nodes.append(copy)
        for t in m.graph.initializer:
            copy = onnx.TensorProto()
            copy.CopyFrom(t)
            copy.name = name(t.name)
            inits.append(copy)
        outs.append(name(m.graph.output[0].name))
    nodes.append(helper.make_node("Mean", outs, [outp], name="mean_of_models"))
    graph = helper.make_graph(nodes, "mean_of_models", [first.input[0]], [first.output[0]], inits)
    merged = helper.make_model(graph, opset_imports=models[0].opset_import)
    merged.ir_version = models[0].ir_version
    for prop in models[0].metadata_props:
        merged.metadata_props.add(key=prop.key, value=prop.value)
    onnx.checker.check_model(merged)
    onnx.save(merged, str(out))
    compact_names(out)
