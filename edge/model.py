"""ONNX models: where they are found, what they carry, and the one place sessions are made.

A model carries its own description in the ONNX ``metadata_props`` under the key
``METADATA_KEY``: a JSON object that ``ModelSpec`` parses. The runtime never guesses what
a model is from its file name.
"""
from __future__ import annotations

import functools
import json
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Optional

import numpy as np

from .audio import SAMPLE_RATE
from .features import FeatureWarp, LogMel, LogMelConfig, checked_warps

METADATA_KEY = "edge"
TASKS = ("commands", "wakeword", "gender", "classify")
FRONTENDS = ("logmel", "raw")
DEFAULT_THREADS = 1  # one intra-op thread: an edge device runs other things too


class ModelError(ValueError):
    """A model that cannot be used: unknown name, unreadable file, missing or wrong metadata."""


@dataclass(frozen=True)
class ModelSpec:
    """What a model is, read from its metadata.

    labels: output classes in output order. sample_rate: Hz the model expects.
    window_samples: samples in one input window. frontend: {"type": "logmel", ...} (log-mel
    computed by edge.features) or {"type": "raw", "normalize": bool} (waveform in).
    task: commands, wakeword, gender or classify. background: labels that never raise an
    event (silence, unknown). threshold: score an event needs, per label or default.
    smoothing: hops averaged before the threshold. hop_ms: how often the stream runs the model
    unless told otherwise. refractory_s: seconds after an event in
    which the same label cannot fire again. aggregate: "event" (keyword events) or
    "segment" (one decision per speech segment, for speaker attributes). extra_inputs: for a
    graph of more than one input, each further input's name and its own log-mel front end
    (the commands model runs the MLPerf-Tiny reference on the reference's analysis beside ours);
    `frontend` then feeds the one input not named here. verify: for a wake word, the settings of
    pocketsphinx's second opinion on its candidates (edge.verify.VerifySpec; empty: none).
    idle_stride, idle_below: while no foreground label of the last window scored reaches
    idle_below, the model runs only every idle_stride-th hop and a hop between takes the last
    scores, as a wake word is quiet nearly all the time (1: every hop; event models only).
    warps, warp_from: test-time warps of the log-mel window, each [axis, factor]
    (edge.features.FeatureWarp: "mel" moves the formants, "time" the speed); when a foreground label
    of a window scores at least warp_from, the model also runs on each warped copy and the window's
    scores are the softmax of its outputs averaged over the original and the copies (a voice
    unlike the training voices is heard as several; empty: none; log-mel event models only).
    """

    labels: tuple
    sample_rate: int = SAMPLE_RATE
    window_samples: int = SAMPLE_RATE
    frontend: dict = field(default_factory=lambda: {"type": "raw", "normalize": True})
    task: str = "classify"
    background: tuple = ()
    threshold: float = 0.5
    thresholds: dict = field(default_factory=dict)
    smoothing: int = 3
    hop_ms: int = 100
    refractory_s: float = 1.0
    aggregate: str = "event"
    output: str = "logits"
    extra_inputs: dict = field(default_factory=dict)
    verify: dict = field(default_factory=dict)
    idle_stride: int = 1
    idle_below: float = 0.0
    warps: tuple = ()
    warp_from: float = 0.0

    def __post_init__(self):
        if not self.labels or not all(isinstance(x, str) and x for x in self.labels):
            raise ModelError("metadata 'labels' must be a non-empty list of strings")
        object.__setattr__(self, "labels", tuple(self.labels))
        object.__setattr__(self, "background", tuple(self.background))
        if self.task not in TASKS:
            raise ModelError(f"metadata 'task' must be one of {TASKS}, got {self.task!r}")
        if self.frontend.get("type") not in FRONTENDS:
            raise ModelError(f"metadata 'frontend.type' must be one of {FRONTENDS}, got {self.frontend.get('type')!r}")
        if not isinstance(self.extra_inputs, dict) or any(not isinstance(v, dict) or v.get("type") != "logmel" for v in self.extra_inputs.values()):
            raise ModelError("metadata 'extra_inputs' must map input names to log-mel front ends")
        if self.extra_inputs and self.frontend.get("type") != "logmel":
            raise ModelError("metadata 'extra_inputs' needs a log-mel 'frontend' for the main input")
        if self.sample_rate != SAMPLE_RATE:
            raise ModelError(f"models must take {SAMPLE_RATE} Hz audio, this one says {self.sample_rate}")
        if self.window_samples <= 0:
            raise ModelError(f"window_samples must be positive, got {self.window_samples}")
        if self.aggregate not in ("event", "segment"):
            raise ModelError(f"metadata 'aggregate' must be event or segment, got {self.aggregate!r}")
        if self.output not in ("logits", "probabilities"):
            raise ModelError(f"metadata 'output' must be logits or probabilities, got {self.output!r}")
        bad = (set(self.background) | set(self.thresholds)) - set(self.labels)
        if bad:
            raise ModelError(f"metadata names labels the model does not have: {sorted(bad)}")
        if not isinstance(self.hop_ms, int) or self.hop_ms <= 0 or self.hop_ms % 10:
            raise ModelError(f"metadata 'hop_ms' must be a positive multiple of 10, got {self.hop_ms!r}")
        if self.smoothing < 1 or self.refractory_s < 0:
            raise ModelError("smoothing must be >= 1 and refractory_s >= 0")
        if not isinstance(self.idle_stride, int) or self.idle_stride < 1 or not 0.0 <= self.idle_below < 1.0:
            raise ModelError(f"metadata 'idle_stride' must be an integer >= 1 and 'idle_below' in [0, 1), got {self.idle_stride!r}, {self.idle_below!r}")
        if self.idle_stride > 1 and self.aggregate != "event":
            raise ModelError("metadata 'idle_stride' above 1 is for event models only")
        try:
            object.__setattr__(self, "warps", checked_warps(self.warps))
        except ValueError as e:
            raise ModelError(f"metadata 'warps': {e}") from None
        if self.warps and (self.frontend.get("type") != "logmel" or self.extra_inputs or self.aggregate != "event"):
            raise ModelError("metadata 'warps' are for event models of one log-mel input only")
        if not 0.0 <= self.warp_from < 1.0:
            raise ModelError(f"metadata 'warp_from' must be in [0, 1), got {self.warp_from!r}")
        if self.verify:
            from .verify import VerifySpec

            try:
                v = VerifySpec.from_dict(self.verify)
            except ValueError as e:
                raise ModelError(str(e)) from None
            if v.label not in self.labels or v.label in self.background or self.aggregate != "event":
                raise ModelError(f"metadata 'verify' names {v.label!r}, not a foreground label of an event model")

    def threshold_for(self, label: str) -> float:
        return float(self.thresholds.get(label, self.threshold))

    def to_json(self) -> str:
        d = asdict(self)
        d["labels"], d["background"] = list(self.labels), list(self.background)
        if not d["verify"]:
            del d["verify"]  # as models exported before verification existed
        if d["idle_stride"] == 1:
            del d["idle_stride"], d["idle_below"]  # as models exported before idle hops existed
        if not d["warps"]:
            del d["warps"], d["warp_from"]  # as models exported before test-time warps existed
        else:
            d["warps"] = [list(w) for w in self.warps]
        return json.dumps(d, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "ModelSpec":
        try:
            d = json.loads(text)
        except json.JSONDecodeError as e:
            raise ModelError(f"model metadata is not valid JSON: {e}") from None
        return dataclass_from_dict(cls, d, "model metadata", ModelError)


def dataclass_from_dict(cls, d, what: str, error: type):
    """cls(**d), a dataclass from a JSON object, every wrong shape one `error` naming `what`."""
    if not isinstance(d, dict):
        raise error(f"{what} must be a JSON object")
    unknown = set(d) - set(cls.__dataclass_fields__)
    if unknown:
        raise error(f"unknown fields in {what}: {sorted(unknown)}")
    try:
        return cls(**d)
    except TypeError as e:
        raise error(f"{what} incomplete: {e}") from None


def shipped_models() -> list:
    """Names of the models shipped inside the package (not the verifier's phone recognizer, _phones)."""
    root = resources.files("edge") / "models"
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".onnx") and not p.name.startswith("_"))


def resolve(model: str) -> Path:
    """A shipped model name (``commands``) or a path to an .onnx file."""
    p = Path(model)
    if p.suffix == ".onnx" or p.exists():
        if not p.is_file():
            raise ModelError(f"{p}: no such model file")
        return p
    path = resources.files("edge") / "models" / f"{model}.onnx"
    if model.startswith("_") or not path.is_file():
        raise ModelError(f"unknown model {model!r}: shipped models are {', '.join(shipped_models())}, or give a path to an .onnx file")
    return Path(str(path))


CPUINFO = Path("/proc/cpuinfo")


@functools.lru_cache(maxsize=None)
def _int8_may_saturate() -> bool:
    """True on an x86 CPU without VNNI (AVX2 alone): there ONNX Runtime's fused u8s8 kernels sum
    pairs of products in 16 bits, which saturates on full-range int8 weights (the commands model's
    MLPerf-Tiny reference: 2 % right through them on an AVX2-only EPYC, 97 % with the fusion off)."""
    import platform

    if platform.machine().lower() not in ("x86_64", "amd64", "i686", "x86"):
        return False
    try:
        flags = CPUINFO.read_text()
    except OSError:
        return False
    return "avx2" in flags and "vnni" not in flags


def session_options(threads: int = DEFAULT_THREADS, exact_int8: Optional[bool] = None):
    """exact_int8: run each quantized op as dequantize -> float op -> quantize (exact, slower) rather
    than through the fused u8s8 kernels; None: where those may saturate (_int8_may_saturate)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if _int8_may_saturate() if exact_int8 is None else exact_int8:
        opts.add_session_config_entry("session.disable_quant_qdq", "1")
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    return opts


class Model:
    """An ONNX classifier and its front end: ``scores(window) -> probabilities per label``."""

    def __init__(self, model: str = "commands", threads: int = DEFAULT_THREADS, exact_int8: Optional[bool] = None):
        import onnxruntime as ort

        self.path = resolve(model)
        try:
            self.session = ort.InferenceSession(str(self.path), session_options(threads, exact_int8), providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own exception types for unreadable graphs
            raise ModelError(f"{self.path}: not a loadable ONNX model ({str(e).splitlines()[0][:160]})") from None
        meta = self.session.get_modelmeta().custom_metadata_map
        if METADATA_KEY not in meta:
            raise ModelError(f"{self.path}: ONNX model has no '{METADATA_KEY}' metadata (labels, front end); export it with edge-export")
        self.spec = ModelSpec.from_json(meta[METADATA_KEY])
        self.name = self.path.stem
        self._check_io()
        fe = self.spec.frontend
        try:
            self.frontend: Optional[LogMel] = LogMel(LogMelConfig.from_dict(fe)) if fe["type"] == "logmel" else None
            # the further inputs: (name, front end, rank), in the metadata's order
            self.extra = [(name, LogMel(LogMelConfig.from_dict(cfg)), rank) for (name, cfg), rank in zip(self.spec.extra_inputs.items(), self._extra_ranks)]
        except (TypeError, ValueError) as e:
            raise ModelError(f"{self.path}: bad front end in its metadata: {e}") from None
        self.warps = [FeatureWarp(axis, factor, self.frontend.cfg, self.frontend.cfg.n_frames(self.spec.window_samples))
                      for axis, factor in self.spec.warps]
        self._foreground = np.array([lab not in self.spec.background for lab in self.spec.labels])

    def _check_io(self):
        ins, outs = self.session.get_inputs(), self.session.get_outputs()
        extra = self.spec.extra_inputs
        names = [i.name for i in ins]
        if set(extra) - set(names) or len(ins) != 1 + len(extra):
            what = f"one input beside {sorted(extra)}" if extra else "one input"
            raise ModelError(f"{self.path}: expected {what}, got {names}")
        self._extra_ranks = [len(next(i for i in ins if i.name == n).shape) for n in extra]
        if any(r not in (3, 4) for r in self._extra_ranks):
            raise ModelError(f"{self.path}: inputs {sorted(extra)} must be log-mel features of rank 3 or 4")
        main = next(i for i in ins if i.name not in extra)
        self.input_name = main.name
        shape = main.shape
        want_rank = (3, 4) if self.spec.frontend["type"] == "logmel" else (2,)
        if len(shape) not in want_rank:
            raise ModelError(f"{self.path}: input {self.input_name} has shape {shape}, expected rank {want_rank} for a {self.spec.frontend['type']} front end")
        self._rank = len(shape)
        n_out = outs[0].shape[-1]
        if isinstance(n_out, int) and n_out != len(self.spec.labels):
            raise ModelError(f"{self.path}: model has {n_out} outputs but its metadata lists {len(self.spec.labels)} labels")

    @property
    def labels(self) -> tuple:
        return self.spec.labels

    def features(self, windows: np.ndarray):
        """Model input for a batch of windows [batch, samples]: an array, or for a model of more
        than one input a tuple (main input, then each of extra_inputs)."""
        if self.extra:
            main = self.frontend(windows)
            return (main,) + tuple(fe(windows) for _, fe, _ in self.extra)
        if self.frontend is None:
            x = windows.astype(np.float32)
            if self.spec.frontend.get("normalize", True):
                x = (x - x.mean(axis=-1, keepdims=True)) / np.sqrt(x.var(axis=-1, keepdims=True) + 1e-7)
            return x
        f = self.frontend(windows)
        return f[:, None] if self._rank == 4 else f

    def scores(self, windows: np.ndarray) -> np.ndarray:
        """Probabilities [batch, labels] for windows [batch, samples] (or one window [samples])."""
        w = np.atleast_2d(np.asarray(windows, dtype=np.float32))
        return self.scores_of_features(self.features(w))

    def feed(self, features) -> dict:
        """The graph's inputs by name for features() output (a batch)."""
        extra = ()
        if isinstance(features, tuple):
            features, extra = features[0], features[1:]
        if len(extra) != len(self.extra):
            raise ModelError(f"{self.path}: takes {1 + len(self.extra)} feature arrays, got {1 + len(extra)}")
        if self.frontend is not None and features.ndim == 3 and self._rank == 4:
            features = features[:, None]
        feed = {self.input_name: features}
        for (name, _, rank), f in zip(self.extra, extra):
            feed[name] = f[:, None] if f.ndim == 3 and rank == 4 else f
        return feed

    def scores_of_features(self, features, warps: bool = True) -> np.ndarray:
        """Probabilities [batch, labels] for front-end output [batch, n_mels, frames] (log-mel
        models) or normalised windows (raw models), as features() makes them (a tuple of them for
        a model of more than one input). A model whose metadata asks for warps (ModelSpec.warps)
        also scores warped copies of the windows near its phrase; warps=False: the windows alone."""
        out = self._outputs(features)
        probs = self._probabilities(out)
        if warps and self.warps:
            rows = np.flatnonzero(probs[:, self._foreground].max(axis=1) >= self.spec.warp_from)
            if len(rows):  # each such window again, warped, all copies in one batch
                f = features[rows]
                copies = self._outputs(np.concatenate([w(f) for w in self.warps]))
                copies = copies.reshape(len(self.warps), len(rows), -1)
                if self.spec.output != "logits":
                    out, copies = np.log(np.maximum(out, 1e-12)), np.log(np.maximum(copies, 1e-12))
                mean = (out[rows] + copies.sum(axis=0)) / (1 + len(self.warps))
                probs[rows] = self._probabilities(mean, logits=True)
        return probs

    def _outputs(self, features) -> np.ndarray:
        out = self.session.run(None, self.feed(features))[0]
        return out.reshape(out.shape[0], -1)

    def _probabilities(self, out: np.ndarray, logits: bool = None) -> np.ndarray:
        if logits or (logits is None and self.spec.output == "logits"):
            out = out - out.max(axis=1, keepdims=True)
            out = np.exp(out)
            out /= out.sum(axis=1, keepdims=True)
        return out.astype(np.float32)
