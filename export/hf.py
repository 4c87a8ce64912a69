"""Hugging Face audio-classification checkpoints (wav2vec2, HuBERT, WavLM, ...) to ONNX.

    checkpoint folder -> inspect -> load (safetensors) -> fold weight norm -> optimum's ONNX
    exporter (onnx_export_from_model, what main_export runs once it has loaded the model;
    dynamic batch and sequence axes) -> compare with torch -> [float16] -> metadata (labels,
    rate, front end) -> record

Only local folders are read, only safetensors weights are loaded (no pickle), and only
models whose feature extractor takes the raw waveform are accepted: the runtime's "raw"
front end reproduces Wav2Vec2FeatureExtractor (optional zero-mean unit-variance per window).
"""
from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.audio import SAMPLE_RATE
from edge.model import ModelSpec

EXPORT_TASK = "audio-classification"  # optimum's task name
RAW_FEATURE_EXTRACTORS = ("Wav2Vec2FeatureExtractor",)  # feature extractors that take the waveform as is
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json")
BACKGROUND_LABELS = ("_silence_", "_unknown_")  # never raise an event in a "commands" model
SPEC_TASKS = ("classify", "commands")
CHECK_LENGTHS_S = (1.0, 0.5)  # window lengths (s) the export is compared with torch at: proves the dynamic axis
CHECK_BATCH = 2  # windows per comparison batch: proves the dynamic batch axis
LOGIT_ATOL = 1e-3  # largest |onnx - torch| logit difference an fp32 export may have


class CheckpointError(ValueError):
    """A checkpoint folder that is not a usable audio-classification model."""


@dataclass(frozen=True)
class Checkpoint:
    """What a checkpoint folder holds: path, architecture, labels in output order, front end."""

    path: Path
    model_type: str
    architecture: str
    labels: tuple
    sample_rate: int
    normalize: bool
    min_samples: int  # receptive field of the conv feature encoder: the shortest input with one frame

    def spec(self, task: str = "classify", window_samples: int = SAMPLE_RATE) -> ModelSpec:
        if task not in SPEC_TASKS:
            raise ValueError(f"task must be one of {SPEC_TASKS}, got {task!r}")
        if window_samples < self.min_samples:
            raise ValueError(f"window of {window_samples} samples is shorter than the model's receptive field ({self.min_samples})")
        background = tuple(x for x in self.labels if x in BACKGROUND_LABELS) if task == "commands" else ()
        return ModelSpec(labels=self.labels, sample_rate=self.sample_rate, window_samples=window_samples,
                         frontend={"type": "raw", "normalize": self.normalize}, task=task, background=background,
                         output="logits")


def _read_json(path: Path, what: str) -> dict:
    if not path.is_file():
        raise CheckpointError(f"{path.parent}: no {path.name} ({what})")
    try:
        d = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(d, dict):
        raise CheckpointError(f"{path}: expected a JSON object")
    return d


def _labels(config: dict, path: Path) -> tuple:
    id2label = config.get("id2label") or {}
    try:
        ids = sorted(int(k) for k in id2label)
    except ValueError:
        raise CheckpointError(f"{path}: config.json id2label keys must be integers, got {sorted(id2label)[:5]}") from None
    if not ids or ids != list(range(len(ids))):
        raise CheckpointError(f"{path}: config.json id2label must number the classes 0..n-1, got {ids[:10]}")
    return tuple(str(id2label[str(i)] if str(i) in id2label else id2label[i]) for i in ids)


def receptive_field(config: dict) -> int:
    """Samples one output frame of the conv feature encoder sees (400 for wav2vec2's default)."""
    kernels, strides = config.get("conv_kernel") or [1], config.get("conv_stride") or [1]
    r = 1
    for k, s in zip(reversed(kernels), reversed(strides)):
        r = (r - 1) * s + k
    return r


def inspect(checkpoint) -> Checkpoint:
    """Read and check a checkpoint folder without loading its weights."""
    path = Path(checkpoint)
    if not path.is_dir():
        raise CheckpointError(f"{path}: no such checkpoint folder")
    config = _read_json(path / "config.json", "model config")
    from transformers.models.auto.modeling_auto import MODEL_FOR_AUDIO_CLASSIFICATION_MAPPING_NAMES as AUDIO_CLS

    model_type = config.get("model_type", "")
    archs = config.get("architectures") or []
    arch = AUDIO_CLS.get(model_type)
    if arch is None or arch not in archs:
        raise CheckpointError(f"{path}: not an audio-classification model (model_type {model_type!r}, architectures {archs}); "
                              "expected e.g. Wav2Vec2ForSequenceClassification or HubertForSequenceClassification")
    if not any((path / w).is_file() for w in WEIGHT_FILES):
        found = sorted(p.name for p in path.iterdir())
        raise CheckpointError(f"{path}: no safetensors weights ({' or '.join(WEIGHT_FILES)}); found {found}. "
                              "Pickled .bin weights are not loaded: re-save with save_pretrained(safe_serialization=True)")
    fe = _read_json(path / "preprocessor_config.json", "feature extractor config: sample rate and normalisation")
    fe_type = fe.get("feature_extractor_type", "")
    if fe_type not in RAW_FEATURE_EXTRACTORS or fe.get("feature_size", 1) != 1:
        raise CheckpointError(f"{path}: feature extractor {fe_type or 'unknown'} (feature_size {fe.get('feature_size')}) is not "
                              f"supported; the runtime feeds the raw waveform as {', '.join(RAW_FEATURE_EXTRACTORS)} does")
    rate = int(fe.get("sampling_rate", 0))
    if rate != SAMPLE_RATE:
        raise CheckpointError(f"{path}: feature extractor sampling_rate is {rate} Hz; the runtime works at {SAMPLE_RATE} Hz")
    return Checkpoint(path=path, model_type=model_type, architecture=arch, labels=_labels(config, path),
                      sample_rate=rate, normalize=bool(fe.get("do_normalize", True)), min_samples=receptive_field(config))


def load_torch(checkpoint):
    """The torch model of a checked checkpoint folder, in eval mode, from safetensors only."""
    from transformers import AutoModelForAudioClassification

    inspect(checkpoint)
    return AutoModelForAudioClassification.from_pretrained(str(checkpoint), local_files_only=True, use_safetensors=True).eval()


def normalize_windows(x: np.ndarray, normalize: bool) -> np.ndarray:
    """What Wav2Vec2FeatureExtractor(do_normalize) does to each window (same as edge.model.Model.features)."""
    x = np.asarray(x, np.float32)
    if not normalize:
        return x
    return (x - x.mean(axis=-1, keepdims=True)) / np.sqrt(x.var(axis=-1, keepdims=True) + 1e-7)


def torch_logits(model, windows: np.ndarray, normalize: bool, batch: int = 32) -> np.ndarray:
    import torch

    x = normalize_windows(windows, normalize)
    with torch.inference_mode():
        return np.concatenate([model(torch.from_numpy(x[i:i + batch])).logits.numpy() for i in range(0, len(x), batch)])


def fold_weight_norm(model) -> int:
    """Bake weight-norm parametrizations (wav2vec2's positional conv) into plain weights.
    Outputs are unchanged; the graph then holds a constant weight instead of computing it each run."""
    from torch.nn.utils import parametrize

    n = 0
    for module in model.modules():
        for name in list(getattr(module, "parametrizations", {}) or {}):
            parametrize.remove_parametrizations(module, name, leave_parametrized=True)
            n += 1
    return n


def export_onnx(model, out: Path) -> dict:
    """optimum's exporter (the part of main_export after loading) into `out`; returns the step record.
    The model is loaded by load_torch, so only safetensors weights are ever read."""
    from optimum.exporters.onnx import onnx_export_from_model

    folded = fold_weight_norm(model)
    with tempfile.TemporaryDirectory() as tmp:
        onnx_export_from_model(model, tmp, task=EXPORT_TASK, do_validation=False)
        shutil.move(str(Path(tmp) / "model.onnx"), str(out))
    return {"step": "export", "exporter": "optimum.exporters.onnx.onnx_export_from_model", "task": EXPORT_TASK,
            "opset": onnx_opset(out), "io": io_shapes(out), "weight_norm_folded": folded}


def onnx_opset(path) -> int:
    import onnx

    m = onnx.load(str(path), load_external_data=False)
    return max(o.version for o in m.opset_import if o.domain in ("", "ai.onnx"))


def io_shapes(path) -> dict:
    import onnx

    g = onnx.load(str(path), load_external_data=False).graph
    dims = lambda v: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]  # noqa: E731
    return {v.name: dims(v) for v in list(g.input) + list(g.output)}


def compare_with_torch(model, onnx_path: Path, normalize: bool, seed: int = 0) -> dict:
    """Largest logit difference between the ONNX graph and torch, at several batch sizes and lengths."""
    import onnxruntime as ort

    from edge.model import session_options

    rng = np.random.default_rng(seed)
    sess = ort.InferenceSession(str(onnx_path), session_options(), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    diffs = {}
    for seconds in CHECK_LENGTHS_S:
        x = (rng.standard_normal((CHECK_BATCH, int(seconds * SAMPLE_RATE))) * 0.1).astype(np.float32)
        onnx_out = sess.run(None, {name: normalize_windows(x, normalize)})[0].astype(np.float32)
        diffs[f"{seconds:g}s"] = float(np.abs(onnx_out - torch_logits(model, x, normalize)).max())
    return {"max_abs_logit_diff": diffs, "batch": CHECK_BATCH}


def check_against_torch(onnx_path: Path, model, normalize: bool, clips) -> dict:
    """Held-out figures of the ONNX model on real clips, with agreement against the torch model."""
    from edge.model import Model

    from .evaluate import accuracy_report, evaluate, prepare, window_scores

    onnx_model = Model(str(onnx_path))
    audio = prepare(onnx_model, clips)
    figures = evaluate(onnx_path, clips, audio=audio)
    logits = torch_logits(model, audio, normalize)
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    onnx_probs = window_scores(onnx_model, audio)
    figures["source"] = {"model": "torch", "accuracy": accuracy_report(onnx_model.labels, clips, probs)["accuracy"],
                         "top1_agreement": round(float(np.mean(probs.argmax(1) == onnx_probs.argmax(1))), 4),
                         "max_prob_diff": round(float(np.abs(probs - onnx_probs).max()), 4)}
    return figures


def prior_record(folder: Path) -> dict:
    """The record edge-export prune left beside these weights (model.json), if they are still those weights."""
    from .record import sha256

    rec = folder / "model.json"
    try:
        d = json.loads(rec.read_text()) if rec.is_file() else {}
    except json.JSONDecodeError:
        return {}
    weights = folder / str(d.get("model", ""))
    return d if d.get("model") and weights.is_file() and d.get("sha256") == sha256(weights) else {}


def convert(checkpoint, out, task: str = "classify", window_samples: int = SAMPLE_RATE, fp16: bool = False,
            check_clips=None, overwrite: bool = False, progress: bool = True) -> dict:
    """Export a checkpoint folder to `out` (.onnx) with its metadata and record; returns the record.
    check_clips: labelled real clips to measure the result on, against the torch model."""
    from tqdm import tqdm

    from .fp16 import to_float16
    from .record import check_writable, record_path, removed_on_error, set_metadata, sha256, write_record

    ck = inspect(checkpoint)
    spec = ck.spec(task, window_samples)
    out = Path(out)
    check_writable(out, record_path(out), overwrite=overwrite)
    with removed_on_error(out, record_path(out)):
        bar = tqdm(total=2 + fp16 + bool(check_clips), desc="convert", unit="step", disable=not progress)
        with tempfile.TemporaryDirectory() as tmp:
            fp32 = Path(tmp) / "fp32.onnx"
            model = load_torch(ck.path)
            steps = [export_onnx(model, fp32)]
            bar.update()
            steps[0].update(compare_with_torch(model, fp32, ck.normalize))
            worst = max(steps[0]["max_abs_logit_diff"].values())
            if worst > LOGIT_ATOL:
                raise ValueError(f"exported graph differs from torch by {worst:.2e} in the logits (allowed {LOGIT_ATOL:g})")
            bar.update()
            if fp16:
                steps.append({**to_float16(fp32, out), **compare_with_torch(model, out, ck.normalize)})
                bar.update()
            else:
                shutil.copyfile(fp32, out)
        set_metadata(out, spec)
        source = {"checkpoint": str(ck.path.resolve()), "sha256": sha256(ck.path), "model_type": ck.model_type,
                  "architecture": ck.architecture}
        prior = prior_record(ck.path)
        if prior:
            source["origin"] = prior.get("source")
        record = {"what": f"{ck.architecture} as ONNX ({'float16' if fp16 else 'float32'})", "source": source,
                  "spec": json.loads(spec.to_json()), "steps": prior.get("steps", []) + steps}
        if check_clips:
            record["check"] = check_against_torch(out, model, ck.normalize, check_clips)
            bar.update()
        bar.close()
        write_record(out, record)
    return record
