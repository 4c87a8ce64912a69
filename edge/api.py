"""The Python API behind the CLI: classify clips, stream files or stdin, listen to a microphone."""
from __future__ import annotations

from functools import lru_cache
from typing import Iterator, Optional, Sequence, Union

import numpy as np

from .audio import SAMPLE_RATE, as_audio
from .model import Model
from .pipeline import MultiPipeline, StreamConfig, StreamingPipeline
from .saving import tapped
from .sources import Microphone, file_blocks, pcm_blocks

CLIP_HOP_S = 0.1  # hop between windows when a clip is longer than the model's window


@lru_cache(maxsize=8)
def load_model(model: str = "commands") -> Model:
    """A shipped model by name or an .onnx path, loaded once per process."""
    return Model(model)


def _windows(x: np.ndarray, n: int) -> np.ndarray:
    """The clip as model windows: one centred, zero-padded window, or windows every CLIP_HOP_S."""
    if len(x) <= n:
        pad = n - len(x)
        return np.pad(x, (pad // 2, pad - pad // 2))[None]
    hop = int(CLIP_HOP_S * SAMPLE_RATE)
    starts = list(range(0, len(x) - n + 1, hop))
    if starts[-1] != len(x) - n:
        starts.append(len(x) - n)
    return np.stack([x[s:s + n] for s in starts])


def clip_scores(model: Model, audio) -> np.ndarray:
    """One probability vector for a clip. Longer than a window: for keyword models the window
    where a foreground label is most confident; for per-segment models the mean of all windows."""
    x = as_audio(audio)
    probs = model.scores(_windows(x, model.spec.window_samples))
    if len(probs) == 1:
        return probs[0]
    if model.spec.aggregate == "segment":
        return probs.mean(axis=0)
    fg = np.array([lab not in model.spec.background for lab in model.labels])
    best = probs[:, fg].max(axis=1) if fg.any() else probs.max(axis=1)
    return probs[int(np.argmax(best))]


def classify(audio, model: Union[str, Model] = "commands", top_k: Optional[int] = 5) -> list:
    """Like the Hugging Face audio-classification pipeline: ``[{"label", "score"}, ...]``,
    best first. ``audio``: a path, encoded bytes, a 16 kHz array, or
    ``{"sampling_rate": int, "array": array}``."""
    m = load_model(model) if isinstance(model, str) else model
    p = clip_scores(m, audio)
    order = np.argsort(-p)[: top_k or len(p)]
    return [{"label": m.labels[i], "score": round(float(p[i]), 6)} for i in order]


Models = Union[str, Model, Sequence[Union[str, Model]]]


def pipeline(model: Models = "commands", config: StreamConfig = StreamConfig()):
    """The streaming pipeline of one model (a shipped name, a path or a Model), or of several at
    once (a list: a MultiPipeline, whose events name their model)."""
    if isinstance(model, (str, Model)):
        model = [model]
    models = [load_model(m) if isinstance(m, str) else m for m in model]
    if not models:
        raise ValueError("no model given")
    return StreamingPipeline(models[0], config) if len(models) == 1 else MultiPipeline(models, config)


def stream_file(source, model: Models = "commands", config: StreamConfig = StreamConfig(),
                rate: int = SAMPLE_RATE, recorder=None) -> Iterator:
    """Events from a file path, or from raw s16le PCM on stdin when source is "-"; `model` as in
    pipeline(); `recorder` (an edge.saving.EventRecorder) hears every block first, so that it
    holds each event's audio when the event comes."""
    p = pipeline(model, config)
    blocks = pcm_blocks(rate=rate) if str(source) == "-" else file_blocks(source)
    return p.run(tapped(blocks, recorder))


def listen(model: Models = "commands", device=None, config: StreamConfig = StreamConfig(),
           max_seconds: Optional[float] = None, on_start=None, recorder=None) -> Iterator:
    """Events from a microphone until interrupted (or max_seconds of audio); `model` and `recorder`
    as in stream_file()."""
    p = pipeline(model, config)
    with Microphone(device) as mic:
        if on_start:
            on_start(mic)
        yield from p.run(tapped(mic.blocks(max_seconds), recorder))
