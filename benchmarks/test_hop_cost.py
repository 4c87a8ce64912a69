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
    gate, frames = VadGate(frame_ms=20), WINDOW[:1600].reshape(5, 320)  # a 100 ms hop = 5 frames
    benchmark(lambda: [gate.process(f) for f in frames])


def test_frontend_per_hop(benchmark, model):
    benchmark(model.features, WINDOW[None])


def test_model_per_hop(benchmark, model):
    x = model.features(WINDOW[None])
    benchmark(model.session.run, None, {model.input_name: x})


def test_whole_hop_vad_open(benchmark, model):
    """Ring write + VAD + front end + model + trigger for one 100 ms hop, gate held open."""
    p = StreamingPipeline(model, StreamConfig(vad=False))
    hop = WINDOW[:1600]
    benchmark(p.process, hop)
