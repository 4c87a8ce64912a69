"""Measure a model on labelled real audio: accuracy overall and per class, agreement with
its source model, largest logit/probability difference, size and latency of one window."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from edge.model import Model

from .data import fit_length, load_clips

BATCH = 64


def window_scores(model: Model, audio: np.ndarray) -> np.ndarray:
    """Probabilities for [n, window] audio, in batches."""
    return np.concatenate([model.scores(audio[i:i + BATCH]) for i in range(0, len(audio), BATCH)]) if len(audio) else np.zeros((0, len(model.labels)))


def prepare(model: Model, clips) -> np.ndarray:
    return np.stack([fit_length(x, model.spec.window_samples) for x in load_clips(clips, length=None)])


def accuracy_report(labels, clips, probs: np.ndarray) -> dict:
    """Overall and per-class accuracy; clips whose label the model lacks are counted wrong."""
    pred = probs.argmax(1)
    truth = [c.label for c in clips]
    correct = np.array([labels[p] == t for p, t in zip(pred, truth)])
    per_class = {}
    for lab in sorted(set(truth)):
        m = np.array([t == lab for t in truth])
        per_class[lab] = {"accuracy": round(float(correct[m].mean()), 4), "support": int(m.sum())}
    return {"accuracy": round(float(correct.mean()), 4) if len(correct) else None, "n": len(correct), "per_class": per_class}


def latency_ms(model: Model, repeats: int = 50) -> float:
    """Median milliseconds for one window (front end + model) on this CPU."""
    x = np.random.default_rng(0).standard_normal((1, model.spec.window_samples)).astype(np.float32) * 0.1
    model.scores(x)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        model.scores(x)
        times.append(time.perf_counter() - t)
    return round(float(np.median(times)) * 1000, 3)


def evaluate(model_path, clips, source_path=None, audio: np.ndarray = None) -> dict:
    """Figures for one model on labelled clips, compared with its source model if given."""
    model = Model(str(model_path))
    audio = prepare(model, clips) if audio is None else audio
    probs = window_scores(model, audio)
    out = {"model": str(model_path), "bytes": Path(model_path).stat().st_size, **accuracy_report(model.labels, clips, probs),
           "latency_ms_per_window": latency_ms(model)}
    if source_path is not None:
        src = Model(str(source_path))
        sp = window_scores(src, audio)
        out["source"] = {"model": str(source_path), "bytes": Path(source_path).stat().st_size,
                         "accuracy": accuracy_report(src.labels, clips, sp)["accuracy"],
                         "top1_agreement": round(float(np.mean(sp.argmax(1) == probs.argmax(1))), 4),
                         "max_prob_diff": round(float(np.abs(sp - probs).max()), 4)}
    return out
