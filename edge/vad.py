"""Voice activity gate: webrtcvad on fixed frames, with a hangover that keeps word endings."""
from __future__ import annotations

import numpy as np

from .audio import INT16_SCALE, SAMPLE_RATE

VAD_FRAME_MS = (10, 20, 30)  # the frame lengths webrtcvad accepts


class VadGate:
    """``process(frame) -> bool``: is speech present now, or was it within the hangover?

    mode: webrtcvad aggressiveness 0 (keeps most) to 3 (strictest). frame_ms: 10, 20 or 30.
    hangover_ms: how long the gate stays open after the last speech frame.
    """

    def __init__(self, mode: int = 2, frame_ms: int = 20, hangover_ms: int = 300):
        import webrtcvad

        if mode not in (0, 1, 2, 3):
            raise ValueError(f"VAD mode must be 0, 1, 2 or 3, got {mode}")
        if frame_ms not in VAD_FRAME_MS:
            raise ValueError(f"VAD frame must be one of {VAD_FRAME_MS} ms, got {frame_ms}")
        if hangover_ms < 0:
            raise ValueError(f"hangover must be >= 0 ms, got {hangover_ms}")
        self.vad = webrtcvad.Vad(mode)
        self.frame_samples = SAMPLE_RATE * frame_ms // 1000
        self.frame_ms = frame_ms
        self.hangover_frames = -(-hangover_ms // frame_ms)
        self.reset()

    def reset(self) -> None:
        self.since_speech = self.hangover_frames + 1  # closed at start

    def is_speech(self, frame: np.ndarray) -> bool:
        if len(frame) != self.frame_samples:
            raise ValueError(f"expected {self.frame_samples} samples ({self.frame_ms} ms at {SAMPLE_RATE // 1000} kHz), got {len(frame)}")
        pcm = np.clip(frame * INT16_SCALE, -INT16_SCALE, INT16_SCALE - 1).astype("<i2").tobytes()
        return self.vad.is_speech(pcm, SAMPLE_RATE)

    def process(self, frame: np.ndarray) -> bool:
        self.since_speech = 0 if self.is_speech(frame) else self.since_speech + 1
        return self.since_speech <= self.hangover_frames

    def process_frames(self, x: np.ndarray) -> bool:
        """process() each whole frame of x in turn (one int16 conversion for all); the state after the last."""
        n = self.frame_samples
        if len(x) % n or not len(x):
            raise ValueError(f"expected a whole number of {n}-sample frames, got {len(x)} samples")
        pcm = np.clip(x * INT16_SCALE, -INT16_SCALE, INT16_SCALE - 1).astype("<i2").tobytes()
        for i in range(0, 2 * len(x), 2 * n):
            self.since_speech = 0 if self.vad.is_speech(pcm[i:i + 2 * n], SAMPLE_RATE) else self.since_speech + 1
        return self.since_speech <= self.hangover_frames


class AlwaysOpen:
    """The gate with VAD switched off: every frame counts."""

    def process(self, frame: np.ndarray) -> bool:
        return True

    def process_frames(self, x: np.ndarray) -> bool:
        return True

    def reset(self) -> None:
        pass
