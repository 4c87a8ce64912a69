"""Shared fixtures. Real data comes from ../shared/data beside the project (or EDGE_DATA);
a test that needs it fails, naming the path, when it is missing."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("EDGE_DATA") or ROOT.parent / "shared" / "data").resolve()
PEERS = Path(os.environ.get("EDGE_PEERS") or ROOT.parent / "shared" / "peers").resolve()


@pytest.fixture(scope="session")
def data_root() -> Path:
    if not (DATA / "speech_commands" / "metadata.csv").is_file():
        pytest.fail(f"real test data not found at {DATA} (expected speech_commands/metadata.csv there; set EDGE_DATA)")
    return DATA


@pytest.fixture(scope="session")
def peers_root() -> Path:
    if not (PEERS / "mlperf_tiny" / "kws_ref_model.tflite").is_file():
        pytest.fail(f"peer models not found at {PEERS} (expected mlperf_tiny/kws_ref_model.tflite there; set EDGE_PEERS)")
    return PEERS


@pytest.fixture(scope="session")
def commands_model():
    from edge.api import load_model

    return load_model("commands")


@pytest.fixture(scope="session")
def held_out_clips(data_root):
    """Speech Commands clips of the speakers the shipped model never trained on."""
    import json

    from edge.model import resolve
    from export.data import fold_of, speech_commands

    record = json.loads(resolve("commands").with_suffix(".json").read_text())
    cfg = record["train_config"]
    return [c for c in speech_commands(data_root) if fold_of(c.group, cfg["n_folds"]) == cfg["holdout_fold"]]


@pytest.fixture(scope="session")
def word_stream(data_root, held_out_clips):
    """A real stream: eight held-out keyword clips with half a second of silence around each."""
    import soundfile as sf

    words = [c for c in held_out_clips if c.label not in ("_silence_", "_unknown_")][::40][:8]
    gap = np.zeros(8000, np.float32)
    parts = []
    for c in words:
        x, _ = sf.read(str(c.path), dtype="float32")
        parts += [gap, x, gap]
    return np.concatenate(parts), [c.label for c in words]
