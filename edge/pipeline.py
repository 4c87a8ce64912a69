"""The streaming pipeline: 16 kHz blocks -> VAD frames -> ring buffer -> model every hop ->
smoothing/threshold/refractory (or per-segment aggregation) -> events.

Audio may arrive in blocks of any size; work happens per fixed hop of VAD frames, so the events
are the same whatever the block size. MultiPipeline runs several models on one stream.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable, Optional, Sequence

import numpy as np

from .audio import SAMPLE_RATE
from .decision import EventTrigger, SegmentAggregator, VerifiedTrigger
from .features import StreamingLogMel
from .model import Model
from .ring import RingBuffer
from .vad import AlwaysOpen, VadGate

IDLE_BELOW = 0.05  # the idle level for a model whose metadata has none (edge-export's wake words: their gate's)


@dataclass(frozen=True)
class StreamConfig:
    """hop_ms: how often the model runs, a multiple of vad_frame_ms (None: the model's own,
    100 ms unless its metadata says otherwise). vad: gate the model
    with webrtcvad (vad_mode 0-3, vad_frame_ms 10/20/30, hangover_ms after speech).
    threshold, smoothing, refractory_s: override the model's own values (None: keep); for a
    verified wake word (edge.verify) threshold is the verified candidate's. verify: verify a
    wake word whose metadata asks for it (False: the model's smoothed score alone, at the
    model's own threshold). idle_stride, idle_below: while no foreground label of the last window
    scored reaches idle_below, run the model only every idle_stride-th hop, a hop between taking
    the last scores (None: the model's own; 1 for every hop; idle_below of a model without one:
    IDLE_BELOW). Event models only: a per-segment model takes every hop. warps: score with the
    test-time warps the model asks for (edge.model.ModelSpec.warps; False: the window alone)."""

    hop_ms: Optional[int] = None
    vad: bool = True
    vad_mode: int = 2
    vad_frame_ms: int = 20
    hangover_ms: int = 300
    threshold: Optional[float] = None
    smoothing: Optional[int] = None
    refractory_s: Optional[float] = None
    verify: bool = True
    idle_stride: Optional[int] = None
    idle_below: Optional[float] = None
    warps: bool = True

    def __post_init__(self):
        if self.vad_frame_ms not in (10, 20, 30):
            raise ValueError(f"vad_frame_ms must be 10, 20 or 30, got {self.vad_frame_ms}")
        if self.hop_ms is not None and (self.hop_ms <= 0 or self.hop_ms % self.vad_frame_ms):
            raise ValueError(f"hop_ms must be a positive multiple of vad_frame_ms ({self.vad_frame_ms}), got {self.hop_ms}")
        if self.threshold is not None and not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold}")
        if self.smoothing is not None and self.smoothing < 1:
            raise ValueError(f"smoothing must be >= 1, got {self.smoothing}")
        if self.refractory_s is not None and self.refractory_s < 0:
            raise ValueError(f"refractory_s must be >= 0, got {self.refractory_s}")
        if self.idle_stride is not None and self.idle_stride < 1:
            raise ValueError(f"idle_stride must be >= 1, got {self.idle_stride}")
        if self.idle_below is not None and not 0.0 <= self.idle_below < 1.0:
            raise ValueError(f"idle_below must be in [0, 1), got {self.idle_below}")

    @property
    def frame_samples(self) -> int:
        return SAMPLE_RATE * self.vad_frame_ms // 1000

    @property
    def hop_frames(self) -> int:
        return self.hop_ms // self.vad_frame_ms


class StreamingPipeline:
    """``process(block) -> [events]`` for 16 kHz mono float32 blocks of any size; ``flush()``
    at the end of a stream; ``reset()`` to start a new one."""

    def __init__(self, model: Model, config: StreamConfig = StreamConfig()):
        spec = model.spec
        if config.hop_ms is None:
            config = replace(config, hop_ms=spec.hop_ms)
        if spec.aggregate != "event":  # one decision per segment takes every window's scores
            config = replace(config, idle_stride=1)
        elif config.idle_stride is None:
            config = replace(config, idle_stride=spec.idle_stride)
        if config.idle_below is None:  # a model that does not ask for idle hops has no level of its own
            config = replace(config, idle_below=spec.idle_below if spec.idle_stride > 1 else IDLE_BELOW)
        self.foreground = np.array([lab not in spec.background for lab in spec.labels])
        self.model, self.config = model, config
        self.window_s = spec.window_samples / SAMPLE_RATE
        self.ring = RingBuffer(spec.window_samples)
        self.history = None  # longer audio, for a verified wake word's candidates
        self.gate = VadGate(config.vad_mode, config.vad_frame_ms, config.hangover_ms) if config.vad else AlwaysOpen()
        if spec.aggregate == "segment":
            self.decide = SegmentAggregator(spec.labels, self.window_s, lead_s=config.hop_ms / 1000)
        elif spec.verify and config.verify:
            from .verify import VerifySpec, make_scorer

            vspec = VerifySpec.from_dict(spec.verify)
            self.history = RingBuffer(vspec.history_samples)
            self.decide = VerifiedTrigger(spec.labels, vspec, make_scorer(vspec), self._audio_between,
                                          config.threshold if config.threshold is not None else vspec.threshold,
                                          config.smoothing or spec.smoothing,
                                          spec.refractory_s if config.refractory_s is None else config.refractory_s, self.window_s)
        else:
            thr = [config.threshold if config.threshold is not None else spec.threshold_for(lab) for lab in spec.labels]
            self.decide = EventTrigger(spec.labels, thr, self.foreground, config.smoothing or spec.smoothing,
                                       spec.refractory_s if config.refractory_s is None else config.refractory_s, self.window_s)
        self.pending = np.zeros(config.hop_frames * config.frame_samples, np.float32)  # a part-filled hop
        step = config.hop_frames * config.frame_samples  # one streaming front end per model input (none for raw audio)
        self.logmels = ([StreamingLogMel(fe, spec.window_samples, step) for fe in [model.frontend] + [fe for _, fe, _ in model.extra]]
                        if model.frontend is not None else [])
        self.reset()

    def reset(self) -> None:
        self.ring.reset()
        if self.history is not None:
            self.history.reset()
        self.gate.reset()
        self.decide.reset()
        self.n_pending = 0
        self.frames = 0  # whole frames processed
        self.hops_scored = 0  # hops the model ran on
        self.last_scored = None  # frame count at the last hop the model ran on
        self.held = None  # the scores a hop between takes while idle (None: the model runs)
        for s in self.logmels:
            s.reset()

    @property
    def time(self) -> float:
        """Stream time in seconds at the end of the last whole frame."""
        return self.frames * self.config.frame_samples / SAMPLE_RATE

    def process(self, block: np.ndarray) -> list:
        x = np.asarray(block, np.float32).reshape(-1)
        events, hs, i = [], len(self.pending), 0
        if self.n_pending:
            take = min(hs - self.n_pending, len(x))
            self.pending[self.n_pending:self.n_pending + take] = x[:take]
            self.n_pending += take
            i = take
            if self.n_pending == hs:
                events += self._hop(self.pending)
                self.n_pending = 0
        while i + hs <= len(x):
            events += self._hop(x[i:i + hs])
            i += hs
        rest = len(x) - i
        if rest > 0:
            self.pending[:rest] = x[i:]
            self.n_pending = rest
        return events

    def _hop(self, audio: np.ndarray) -> list:
        """One hop of VAD frames: the whole data flow, microphone to event. Its frames go through
        the gate one by one; the model runs once, on the window ending with the hop."""
        self.ring.write(audio)
        if self.history is not None:
            self.history.write(audio)
        open_ = self.gate.process_frames(audio)
        self.frames += self.config.hop_frames
        scores = None
        if not open_:
            self.held = None
        elif self.held is not None and self.frames - self.last_scored < self.config.idle_stride * self.config.hop_frames:
            scores = self.held
        else:
            scores = self._score(self.ring.window())
            self.hops_scored += 1
            idle = self.config.idle_stride > 1 and scores[self.foreground].max(initial=0.0) < self.config.idle_below
            self.held = scores if idle else None
        return self.decide.process(scores, self.time)

    def _audio_between(self, start: float, end: float) -> np.ndarray:
        """The stream's samples from `start` to `end` (seconds, end <= now), as far back as the
        history keeps (it holds every hop's audio, so its count is the stream's samples)."""
        return self.history.between(start, end, SAMPLE_RATE)

    def _score(self, window: np.ndarray) -> np.ndarray:
        steps = 0 if self.last_scored is None else (self.frames - self.last_scored) // self.config.hop_frames
        self.last_scored = self.frames
        if not self.logmels:
            return self.model.scores(window[None])[0]
        features = tuple(s(window, steps)[None] for s in self.logmels)
        features = features[0] if len(features) == 1 else features
        if not self.config.warps:  # (the one-argument call otherwise, as a recorder that stands in for it takes)
            return self.model.scores_of_features(features, warps=False)[0]
        return self.model.scores_of_features(features)[0]

    def flush(self) -> list:
        """End of stream: report a segment still open. A part hop left over is dropped (no hop ends in it)."""
        return self.decide.flush()

    def run(self, blocks: Iterable[np.ndarray]):
        """Yield the events of a whole stream of blocks."""
        for block in blocks:
            yield from self.process(block)
        yield from self.flush()


class MultiPipeline:
    """Several models on one stream, as openWakeWord and Porcupine listen for several wake words at
    once: each model has its own StreamingPipeline (its own VAD gate, hop, front end and event
    rule, the same `config` overrides for all), so each fires exactly the events it fires alone;
    every event carries its model's name (``Detection.model``), and the events of one block come
    in stream-time order. The same interface as StreamingPipeline."""

    def __init__(self, models: Sequence[Model], config: StreamConfig = StreamConfig()):
        if not models:
            raise ValueError("MultiPipeline needs at least one model")
        names = [m.name for m in models]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"two models are named {', '.join(twice)}: give each model once (a model's name is its file name)")
        self.pipelines = [StreamingPipeline(m, config) for m in models]

    def reset(self) -> None:
        for p in self.pipelines:
            p.reset()

    @property
    def time(self) -> float:
        return max(p.time for p in self.pipelines)

    def _named(self, batches: list) -> list:
        events = [replace(e, model=p.model.name) for p, batch in zip(self.pipelines, batches) for e in batch]
        return sorted(events, key=lambda e: e.end)  # stable: at one time, in the models' order

    def process(self, block: np.ndarray) -> list:
        x = np.asarray(block, np.float32).reshape(-1)
        return self._named([p.process(x) for p in self.pipelines])

    def flush(self) -> list:
        return self._named([p.flush() for p in self.pipelines])

    def run(self, blocks: Iterable[np.ndarray]):
        for block in blocks:
            yield from self.process(block)
        yield from self.flush()
