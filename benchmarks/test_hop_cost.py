"""Per-hop cost of each stage on this CPU (pytest-benchmark; not part of the test suite).

    .venv/bin/python -m pytest benchmarks/test_hop_cost.py --benchmark-json benchmarks/results/latency/hop_cost.json
"""
import numpy as np
import pytest

from edge.api import load_model
from edge.pipeline import StreamConfig, StreamingPipeline
from edge.vad import VadGate

RNG = np.random.default_rng(0)
WINDOW = (RNG.standard_normal(16_000) * 0.05).astype(np.float32)


@pytest.fixture(scope="module")
def model():
    return load_model("commands")


def test_vad_per_hop(benchmark):
    gate = VadGate(frame_ms=20)  # a 100 ms hop = 5 frames, converted once as the pipeline does
    benchmark(gate.process_frames, WINDOW[:1600])


def test_frontend_whole_window(benchmark, model):
    benchmark(model.features, WINDOW[None])


def test_frontend_per_hop(benchmark, model):
    """The streaming front ends: only the frames new since the last hop (10 of ours, and 5 of
    the reference's analysis for a model that runs the reference beside ours)."""
    from edge.features import StreamingLogMel

    streams = [StreamingLogMel(fe, 16_000, 1_600) for fe in [model.frontend] + [fe for _, fe, _ in model.extra]]
    for s in streams:
        s(WINDOW, False)
    benchmark(lambda: [s(WINDOW, True) for s in streams])


def test_model_per_hop(benchmark, model):
    x = model.features(WINDOW[None])
    benchmark(model.scores_of_features, x)


def test_whole_hop_vad_open(benchmark, model):
    """Ring write + VAD + front end + model + trigger for one 100 ms hop, gate held open."""
    p = StreamingPipeline(model, StreamConfig(vad=False))
    hop = WINDOW[:1600]
    benchmark(p.process, hop)
