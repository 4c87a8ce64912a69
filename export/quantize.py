"""INT8 quantization of ONNX models with ONNX Runtime: dynamic (weights only, activations
quantized at run time) and static QDQ (activations calibrated on real audio)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

DYNAMIC_DEFAULT_OPS = ("MatMul",)  # ConvInteger is slower than float Conv on CPU for wav2vec2
STATIC_DEFAULT_OPS = ("Conv", "MatMul", "Gemm")


@dataclass(frozen=True)
class QuantizeConfig:
    """mode: dynamic or static. per_channel: one scale per output channel of each weight.
    op_types: operators to quantize. reduce_range: 7-bit weights, for older x86 without VNNI.
    calibration_method: minmax, entropy or percentile (static only)."""

    mode: str = "dynamic"
    per_channel: bool = False
    op_types: tuple = DYNAMIC_DEFAULT_OPS
    reduce_range: bool = False
    calibration_method: str = "minmax"

    def __post_init__(self):
        if self.mode not in ("dynamic", "static"):
            raise ValueError(f"mode must be dynamic or static, got {self.mode!r}")
        if self.calibration_method not in ("minmax", "entropy", "percentile"):
            raise ValueError(f"calibration_method must be minmax, entropy or percentile, got {self.calibration_method!r}")
        object.__setattr__(self, "op_types", tuple(self.op_types))

    @classmethod
    def avx512_vnni(cls, mode="dynamic"):
        """x86 with VNNI: per-channel, full 8-bit range (optimum's avx512_vnni preset)."""
        return cls(mode=mode, per_channel=True, op_types=DYNAMIC_DEFAULT_OPS if mode == "dynamic" else STATIC_DEFAULT_OPS)

    @classmethod
    def avx2(cls, mode="dynamic"):
        """Older x86 (AVX2, no VNNI): 7-bit weights avoid saturation in the u8s8 kernels."""
        return cls(mode=mode, per_channel=True, reduce_range=True, op_types=DYNAMIC_DEFAULT_OPS if mode == "dynamic" else STATIC_DEFAULT_OPS)

    @classmethod
    def arm64(cls, mode="dynamic"):
        """arm64 (Raspberry Pi 4/5): per-channel, full range (optimum's arm64 preset)."""
        return cls(mode=mode, per_channel=True, op_types=DYNAMIC_DEFAULT_OPS if mode == "dynamic" else STATIC_DEFAULT_OPS)

    @classmethod
    def preset(cls, name: str, mode: str):
        presets = {"avx512_vnni": cls.avx512_vnni, "avx2": cls.avx2, "arm64": cls.arm64}
        if name not in presets:
            raise ValueError(f"unknown preset {name!r}: choose from {', '.join(presets)}")
        return presets[name](mode)


class ArrayCalibrationReader:
    """Feeds calibration inputs (already model-shaped arrays) one at a time: `inputs` is the
    array for `input_name`, or a dict of arrays by input name (models of more than one input)."""

    def __init__(self, input_name: str, inputs):
        self.inputs = inputs if isinstance(inputs, dict) else {input_name: inputs}
        self.n, self.i = min(len(v) for v in self.inputs.values()), 0

    def get_next(self):
        if self.i >= self.n:
            return None
        self.i += 1
        return {k: v[self.i - 1:self.i].astype(np.float32) for k, v in self.inputs.items()}

    def rewind(self):
        self.i = 0


def quantize(src: Path, dst: Path, cfg: QuantizeConfig, calibration: np.ndarray = None, input_name: str = None) -> dict:
    """Quantize src to dst. Static mode needs calibration inputs [n, ...] for `input_name` (or a
    dict of them by input name)."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quant_pre_process, quantize_dynamic, quantize_static

    src, dst = Path(src), Path(dst)
    pre = dst.with_suffix(".pre.onnx")
    try:
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
    except Exception:  # pre-processing is an optimisation; some graphs (dynamic shapes) refuse it
        pre = src
    try:
        if cfg.mode == "dynamic":
            quantize_dynamic(str(pre), str(dst), weight_type=QuantType.QInt8, per_channel=cfg.per_channel,
                             reduce_range=cfg.reduce_range, op_types_to_quantize=list(cfg.op_types))
        else:
            reader = ArrayCalibrationReader(input_name, calibration) if calibration is not None else None
            if reader is None or reader.n == 0:
                raise ValueError("static quantization needs calibration audio")
            method = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy, "percentile": CalibrationMethod.Percentile}[cfg.calibration_method]
            quantize_static(str(pre), str(dst), reader, quant_format=QuantFormat.QDQ,
                            activation_type=QuantType.QInt8, weight_type=QuantType.QInt8, per_channel=cfg.per_channel,
                            reduce_range=cfg.reduce_range, op_types_to_quantize=list(cfg.op_types), calibrate_method=method,
                            extra_options={"ActivationSymmetric": False, "WeightSymmetric": True})
    finally:
        if pre != src and pre.exists():
            pre.unlink()
    saved = compact_names(dst)
    return {"step": "quantize", "names_compacted_bytes": saved, "mode": cfg.mode, "per_channel": cfg.per_channel, "op_types": list(cfg.op_types),
            "reduce_range": cfg.reduce_range, "calibration_method": cfg.calibration_method if cfg.mode == "static" else None,
            "calibration_windows": reader.n if cfg.mode == "static" else 0}


def compact_names(path) -> int:
    """Rename a graph's inner tensors and nodes to short ids ("t1f", "n2a") in place, in its
    subgraphs too (an If's branches, export.ensemble); the graph's inputs and outputs keep their
    names. The quantizer's names ("/stem/stem.2/Relu_output_0_QuantizeLinear_Output") took 18.7 KB
    of the 97.5 KB commands model. Graphs with external data are left as they are. Returns the
    bytes saved."""
    import onnx

    path = Path(path)
    m = onnx.load(str(path), load_external_data=False)
    g = m.graph
    if any(t.data_location == onnx.TensorProto.EXTERNAL for t in g.initializer):
        return 0
    keep = {v.name for v in g.input} | {v.name for v in g.output}
    names: dict = {}
    count = [0]

    def short(name: str) -> str:
        if not name or name in keep:
            return name
        return names.setdefault(name, f"t{len(names):x}")

    def walk(graph) -> None:  # names are unique across a model's scopes, so one map serves them all
        for node in graph.node:
            node.name = f"n{count[0]:x}"
            count[0] += 1
            rename_tensors(node, short)
            for a in node.attribute:
                for sub in ([a.g] if a.type == onnx.AttributeProto.GRAPH else a.graphs if a.type == onnx.AttributeProto.GRAPHS else []):
                    walk(sub)
        for t in graph.initializer:
            t.name = short(t.name)
        for v in (*graph.value_info, *(graph.output if graph is not g else ()), *(graph.input if graph is not g else ())):
            v.name = short(v.name)

    walk(g)
    before = path.stat().st_size
    onnx.save(m, str(path))
    return before - path.stat().st_size


def rename_tensors(node, rename) -> None:
    """Give every input and output of an ONNX node the name rename(old name)."""
    for field in (node.input, node.output):
        renamed = [rename(x) for x in field]
        del field[:]
        field.extend(renamed)


def quantized_op_counts(path) -> dict:
    """How many quantized operators a graph holds (proof that quantization happened)."""
    import onnx

    ops = [n.op_type for n in onnx.load(str(path)).graph.node]
    names = ("QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul", "MatMulInteger", "ConvInteger", "DynamicQuantizeLinear")
    return {k: ops.count(k) for k in names if ops.count(k)}


def calibration_inputs(model_path, folder, n: int, progress: bool = True) -> dict:
    """Model inputs for static calibration, by input name: up to n real clips from `folder` (any
    layout), spread evenly over its sorted audio files, each fitted to the model's window and
    passed through its front end(s) (edge.model.Model.features)."""
    from tqdm import tqdm

    from edge.audio import load_audio
    from edge.model import Model

    from .data import AUDIO_SUFFIXES, DataError, fit_length

    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: calibration folder not found")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
    if not files:
        raise DataError(f"{folder}: no audio files ({', '.join(AUDIO_SUFFIXES)}) to calibrate on")
    if n < 1:
        raise ValueError(f"calibration windows must be >= 1, got {n}")
    picked = [files[i] for i in np.unique(np.linspace(0, len(files) - 1, min(n, len(files))).astype(int))]
    model = Model(str(model_path))
    windows = np.stack([fit_length(load_audio(p), model.spec.window_samples)
                        for p in tqdm(picked, desc="calibration audio", unit="clip", disable=not progress)])
    return model.feed(model.features(windows))


def quantize_file(src, dst, cfg: QuantizeConfig, calibration_dir=None, calibration_windows: int = 200,
                  check_clips=None, overwrite: bool = False) -> dict:
    """Quantize a model made by the factory: keeps its metadata, chains its record, writes dst's record.
    check_clips: labelled real clips to measure dst on against src."""
    import json

    from .evaluate import evaluate
    from .record import check_writable, read_spec, record_path, removed_on_error, set_metadata, sha256, write_record

    src, dst = Path(src), Path(dst)
    if not src.is_file():
        raise FileNotFoundError(f"{src}: no such model file")
    spec = read_spec(src)
    if cfg.mode == "static" and calibration_dir is None:
        raise ValueError("static quantization needs --calibration DIR (real audio clips)")
    if cfg.mode == "dynamic" and calibration_dir is not None:
        raise ValueError("--calibration applies to static quantization only")
    check_writable(dst, record_path(dst), overwrite=overwrite)
    calib = calibration_inputs(src, calibration_dir, calibration_windows) if cfg.mode == "static" else None
    source = {"model": str(src.resolve()), "sha256": sha256(src)}
    prior = record_path(src)
    previous = json.loads(prior.read_text()) if prior.is_file() else {}
    steps = previous.get("steps", []) if previous.get("sha256") == source["sha256"] else []
    if steps and "source" in previous:
        source["origin"] = previous["source"]
    with removed_on_error(dst, record_path(dst)):
        from edge.model import Model

        step = quantize(src, dst, cfg, calib, Model(str(src)).input_name)
        ops = quantized_op_counts(dst)
        if not ops:
            raise ValueError(f"{src}: nothing was quantized (no {', '.join(cfg.op_types)} operators in the graph?)")
        set_metadata(dst, spec)
        step.update(quantized_ops=ops, bytes_before=src.stat().st_size, bytes_after=dst.stat().st_size)
        record = {"what": f"INT8 {cfg.mode} quantization of {src.name}", "source": source,
                  "spec": json.loads(spec.to_json()), "steps": steps + [step]}
        if check_clips:
            record["check"] = evaluate(dst, check_clips, source_path=src)
        write_record(dst, record)
    return record
