"""The audio of each event, kept: ``edge stream/listen --save-events DIR``.

A wake word that fires where it should not is best fixed with the very audio it fired on: keep the
clips of the false accepts and give them back to the model factory as negatives
(``edge-export wakeword PHRASE --negatives DIR``), as openWakeWord's users do with their own
recordings. The recorder taps the 16 kHz blocks the pipeline hears, keeps the last seconds of
them, and writes the audio of an event (its window and a second before it) as a 16-bit WAV.
Nothing in the folder is ever overwritten: a name taken gets a number.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np

from .audio import SAMPLE_RATE
from .ring import RingBuffer

KEEP_S = 12.0  # seconds of the stream kept: an event's window, the second before it, and a segment of some length
BEFORE_S = 1.0  # seconds saved before an event's window


class EventRecorder:
    """``feed(block)`` with every block the pipeline gets, before it gets it; ``save(event)`` writes
    the audio from BEFORE_S before the event's start to its end (as much as the last KEEP_S hold)
    into `folder` and returns the path."""

    def __init__(self, folder, keep_s: float = KEEP_S, before_s: float = BEFORE_S):
        self.folder = Path(folder)
        if self.folder.exists() and not self.folder.is_dir():
            raise ValueError(f"--save-events {self.folder}: exists and is not a folder")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.ring = RingBuffer(int(keep_s * SAMPLE_RATE))
        self.before_s = before_s

    def feed(self, block: np.ndarray) -> None:
        self.ring.write(block)

    def audio(self, start: float, end: float) -> np.ndarray:
        """The stream's samples from `start` to `end` (seconds), as far back as the ring keeps."""
        return self.ring.between(start, end, SAMPLE_RATE)

    def save(self, event) -> Path:
        import soundfile as sf

        x = self.audio(event.start - self.before_s, event.end)
        parts = [time.strftime("%Y%m%d-%H%M%S"), event.model, event.label, f"{event.start:.2f}s"]
        stem = "_".join(re.sub(r"[^A-Za-z0-9.-]+", "-", p) for p in parts if p)
        for n in range(1, 10_000):
            path = self.folder / (f"{stem}.wav" if n == 1 else f"{stem}_{n}.wav")
            try:
                with open(path, "xb") as f:  # never over a file that is there
                    sf.write(f, np.clip(x, -1.0, 1.0), SAMPLE_RATE, subtype="PCM_16", format="WAV")
                return path
            except FileExistsError:
                continue
        raise OSError(f"{self.folder}: no free name for {stem}.wav")


def tapped(blocks, recorder):
    """The blocks as they come, each fed to the recorder first (None: the blocks themselves)."""
    if recorder is None:
        return blocks
    return _fed(blocks, recorder)


def _fed(blocks, recorder):
    for b in blocks:
        recorder.feed(b)
        yield b
