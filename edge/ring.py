"""Preallocated ring buffer holding the most recent window of audio."""
from __future__ import annotations

import numpy as np


class RingBuffer:
    """Keeps the last `size` samples; starts as zeros (a deterministic start state)."""

    def __init__(self, size: int):
        if size <= 0:
            raise ValueError(f"ring size must be positive, got {size}")
        self.buf = np.zeros(size, np.float32)
        self.size = size
        self.reset()

    def reset(self) -> None:
        self.buf[:] = 0.0
        self.pos = 0  # next write index
        self.count = 0  # samples written in all

    def write(self, x: np.ndarray) -> None:
        x = np.asarray(x, np.float32).reshape(-1)
        if len(x) >= self.size:
            self.buf[:] = x[-self.size:]
            self.pos = 0
        else:
            first = min(len(x), self.size - self.pos)
            self.buf[self.pos:self.pos + first] = x[:first]
            self.buf[:len(x) - first] = x[first:]
            self.pos = (self.pos + len(x)) % self.size
        self.count += len(x)

    def window(self) -> np.ndarray:
        """The buffer's contents, oldest sample first (a copy)."""
        return np.concatenate([self.buf[self.pos:], self.buf[:self.pos]])

    def between(self, start: float, end: float, rate: int) -> np.ndarray:
        """The samples written from `start` to `end` seconds (of a stream at `rate` whose first
        sample was the first written; end <= now), as far back as the buffer keeps (a copy)."""
        now, held = self.count, min(self.count, self.size)
        a = max(int(round(start * rate)), now - held)
        b = min(int(round(end * rate)), now)
        if b <= a:
            return np.zeros(0, np.float32)
        return self.window()[self.size - (now - a):self.size - (now - b)]
