"""From per-hop scores to events: smoothing, per-label thresholds, a refractory period
(keywords), or one decision per speech segment (speaker attributes)."""
from __future__ import annotations

from typing import Optional

import numpy as np

from .events import Detection, Segment


class EventTrigger:
    """Average the last `smoothing` hops of scores; fire when a foreground label's average
    reaches its threshold and no event fired within `refractory_s`. A closed VAD gate
    clears the average, so stale scores never carry across silence."""

    def __init__(self, labels, thresholds: np.ndarray, foreground: np.ndarray, smoothing: int, refractory_s: float, window_s: float):
        if smoothing < 1:
            raise ValueError(f"smoothing must be >= 1 hop, got {smoothing}")
        self.labels = tuple(labels)
        self.thresholds = np.asarray(thresholds, np.float32)
        self.foreground = np.asarray(foreground, bool)
        self.history = np.zeros((smoothing, len(self.labels)), np.float32)
        self.refractory_s, self.window_s = refractory_s, window_s
        self.reset()

    def reset(self) -> None:
        self.history[:] = 0.0
        self.filled = 0
        self.last_event: Optional[float] = None
        self.average: Optional[np.ndarray] = None  # smoothed scores of the last hop (None: gate closed)

    def process(self, scores: Optional[np.ndarray], t: float) -> list:
        """Scores of the window ending at stream time t (None: gate closed)."""
        if scores is None:
            self.history[:] = 0.0
            self.filled = 0
            self.average = None
            return []
        self.history[self.filled % len(self.history)] = scores
        self.filled += 1
        avg = self.average = self.history.sum(axis=0) / min(self.filled, len(self.history))
        hit = self.foreground & (avg >= self.thresholds)
        if not hit.any() or (self.last_event is not None and t - self.last_event < self.refractory_s):
            return []
        k = int(np.argmax(np.where(hit, avg, -1.0)))
        self.last_event = t
        return [Detection(self.labels[k], float(avg[k]), max(0.0, t - self.window_s), t)]

    def flush(self) -> list:
        """End of stream: a keyword event is raised when its hop is scored, so nothing is pending."""
        return []


class VerifiedTrigger(EventTrigger):
    """EventTrigger whose wake word is verified (edge.verify): the smoothed score of ``spec.label``
    opens and closes candidates, each candidate scored once by the keyphrase scorer; an event fires
    when a candidate's score reaches the threshold outside the refractory period. ``last_candidate``
    holds (end time, score) of a candidate closed at the last hop (None otherwise), every
    candidate whatever the threshold, for benchmarks that sweep it."""

    def __init__(self, labels, spec, scorer, audio, threshold: float, smoothing: int, refractory_s: float, window_s: float):
        from .verify import Candidates

        self.candidates = Candidates(spec, scorer)  # before EventTrigger's __init__, which resets
        thresholds = np.full(len(labels), np.inf, np.float32)  # the label's own threshold is the candidate's
        super().__init__(labels, thresholds, np.zeros(len(labels), bool), smoothing, refractory_s, window_s)
        self.k = self.labels.index(spec.label)
        self.threshold = float(threshold)
        self.audio = audio  # (start, end) -> samples of the stream

    def reset(self) -> None:
        super().reset()
        self.candidates.reset()
        self.last_candidate = None
        self.last_time = 0.0

    def process(self, scores: Optional[np.ndarray], t: float) -> list:
        self.last_time = t
        super().process(scores, t)  # smoothing only: no label can fire on its own
        return self._decide(self.candidates.process(None if self.average is None else self.average[self.k], t, self.audio))

    def _decide(self, closed) -> list:
        self.last_candidate = None
        if closed is None:
            return []
        start, end, score = closed
        self.last_candidate = (end, score)
        if score < self.threshold or (self.last_event is not None and end - self.last_event < self.refractory_s):
            return []
        self.last_event = end
        return [Detection(self.labels[self.k], float(score), start, end)]

    def flush(self) -> list:
        """End of stream: a candidate still open is scored now."""
        return self._decide(self.candidates.close(self.last_time, self.audio))


class SegmentAggregator:
    """Average the scores of every window in a speech segment; when the segment ends (the
    gate closes, or the stream ends), report its best label. Segments shorter than
    `min_windows` scored windows are not reported. A segment starts `lead_s` before its first
    scored hop: by default window_s (the start of that window); the pipeline gives its hop,
    within which the gate opened, so segments separated by silence do not overlap in time."""

    def __init__(self, labels, window_s: float, min_windows: int = 2, lead_s: Optional[float] = None):
        self.labels, self.window_s, self.min_windows = tuple(labels), window_s, min_windows
        self.lead_s = window_s if lead_s is None else lead_s
        self.sum = np.zeros(len(self.labels), np.float64)
        self.reset()

    def reset(self) -> None:
        self.sum[:] = 0.0
        self.n = 0
        self.start = self.end = 0.0

    def process(self, scores: Optional[np.ndarray], t: float) -> list:
        if scores is None:
            return self.flush()
        if self.n == 0:
            self.start = max(0.0, t - self.lead_s)
        self.sum += scores
        self.n += 1
        self.end = t
        return []

    def flush(self) -> list:
        if self.n < self.min_windows:
            self.sum[:] = 0.0
            self.n = 0
            return []
        mean = self.sum / self.n
        k = int(np.argmax(mean))
        event = Segment(self.labels[k], float(mean[k]), self.start, self.end)
        self.sum[:] = 0.0
        self.n = 0
        return [event]
