"""Soft targets from a larger teacher, for distilling its knowledge into a small student.

The teacher here is the MLPerf-Tiny reference keyword model (DS-CNN, Apache-2.0, trained on
~85,000 Speech Commands v2 training clips, whose speakers are not in our dev data), run
by LiteRT with its own MFCC front end (export/mlperf.py). Only its output
probabilities on our augmented audio are used; none of its weights enter the student.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np


class MlperfTeacher:
    """``probs(windows [n, 16000]) -> [n, len(labels)]`` in the student's label order."""

    def __init__(self, labels, peers: Path):
        from . import mlperf as P

        self.P = P
        path = Path(peers) / "mlperf_tiny" / "kws_ref_model.tflite"
        if not path.is_file():
            raise FileNotFoundError(f"teacher model not found: {path}")
        self.model = P.TfliteKws(path)
        names = P.model_labels(Path(peers))
        if sorted(names) != sorted(labels):
            raise ValueError(f"teacher labels {names} do not match the student's {list(labels)}")
        self.order = [names.index(lab) for lab in labels]

    def probs(self, windows: np.ndarray) -> np.ndarray:
        out = np.empty((len(windows), len(self.order)), np.float32)
        for i, w in enumerate(windows):
            peak = float(np.max(w))
            x = w / peak if peak > 0 else w
            out[i] = self.model.scores(self.P.mfcc(x.astype(np.float32)))[self.order]
        out = np.maximum(out, 1e-4)
        return out / out.sum(axis=1, keepdims=True)
