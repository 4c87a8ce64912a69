"""What the pipeline reports: small frozen dataclasses, times in seconds of stream time."""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Detection:
    """A keyword or wake word heard: the window [start, end] whose smoothed score crossed the threshold."""

    label: str
    score: float
    start: float
    end: float
    type: str = "detection"
    model: str = ""  # which model heard it, when several listen at once (edge.pipeline.MultiPipeline)

    def to_dict(self) -> dict:
        d = asdict(self)
        if not d["model"]:
            del d["model"]
        return {"type": d.pop("type"), **{k: round(v, 4) if isinstance(v, float) else v for k, v in d.items()}}


@dataclass(frozen=True)
class Segment(Detection):
    """One decision for a whole speech segment (speaker attributes such as gender)."""

    type: str = "segment"
