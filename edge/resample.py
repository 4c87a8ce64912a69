"""Streaming polyphase resampler: any integer rate to 16 kHz, block by block.

The filter is the one scipy's ``resample_poly`` designs (Kaiser, beta 5, 10 zero crossings
per side), and the output is aligned the same way, so a stream cut into any blocks gives
the samples ``resample_poly`` gives for the whole signal (tests check this).
"""
from __future__ import annotations

from math import gcd

import numpy as np
from scipy.signal import firwin

from .audio import SAMPLE_RATE

KAISER_BETA = 5.0
ZERO_CROSSINGS = 10  # per side, as scipy.signal.resample_poly


class StreamingResampler:
    """``process(block) -> resampled block``; ``flush()`` returns the delayed tail at the end."""

    def __init__(self, rate_in: int, rate_out: int = SAMPLE_RATE):
        if rate_in <= 0 or rate_out <= 0:
            raise ValueError(f"sample rates must be positive, got {rate_in} -> {rate_out}")
        g = gcd(int(rate_in), int(rate_out))
        self.up, self.down = rate_out // g, rate_in // g
        self.rate_in, self.rate_out = rate_in, rate_out
        if self.up == self.down:  # same rate: pass through
            self.taps, self.bank, self.delay_up = 1, np.ones((1, 1), np.float32), 0
            self.reset()
            return
        half = ZERO_CROSSINGS * max(self.up, self.down)
        h = firwin(2 * half + 1, 1.0 / max(self.up, self.down), window=("kaiser", KAISER_BETA)) * self.up
        self.taps = -(-len(h) // self.up)  # taps per phase
        # polyphase bank: phase p uses h[p], h[p + up], ...; padded to equal length
        bank = np.zeros((self.up, self.taps), np.float32)
        for p in range(self.up):
            coeffs = h[p::self.up]
            bank[p, :len(coeffs)] = coeffs
        self.bank = bank
        self.delay_up = half  # filter delay in upsampled samples
        self.reset()

    def reset(self) -> None:
        self.history = np.zeros(self.taps - 1, np.float32)  # inputs before the block (zeros at start)
        self.n_in = 0  # input samples seen
        self.n_out = 0  # output samples made (including the ones dropped to align)

    def _ready(self, n_in: int) -> int:
        """Outputs computable once n_in inputs are seen, counted from output index 0 of the delayed stream."""
        # output m uses inputs up to floor((m*down + delay_up) / up), which must be < n_in
        return max(0, (n_in * self.up - 1 - self.delay_up) // self.down + 1) if n_in else 0

    def process(self, block: np.ndarray) -> np.ndarray:
        x = np.asarray(block, dtype=np.float32).reshape(-1)
        if self.up == self.down:
            self.n_in += len(x)
            return x.copy()
        buf = np.concatenate([self.history, x])  # buf[k] is input index n_in - (taps-1) + k
        start_in = self.n_in - (self.taps - 1)
        self.n_in += len(x)
        end = self._ready(self.n_in)
        m = np.arange(self.n_out, end)
        self.n_out = end
        self.history = buf[len(buf) - (self.taps - 1):] if self.taps > 1 else buf[:0]
        if not len(m):
            return np.zeros(0, np.float32)
        pos = m * self.down + self.delay_up  # upsampled index of each output
        phase, newest = pos % self.up, pos // self.up  # newest input index each output uses
        idx = (newest - start_in)[:, None] - np.arange(self.taps)[None, :]
        valid = idx >= 0  # before the stream began: zeros
        return np.einsum("ij,ij->i", np.where(valid, buf[np.clip(idx, 0, None)], 0.0), self.bank[phase]).astype(np.float32)

    def flush(self) -> np.ndarray:
        """The outputs still owed for the inputs seen, so the total length is resample_poly's."""
        owed = -(-self.n_in * self.up // self.down) - self.n_out
        if owed <= 0 or self.up == self.down:
            return np.zeros(0, np.float32)
        zeros = np.zeros(-(-owed * self.down // self.up) + self.taps + 1, np.float32)
        return self.process(zeros)[:owed]
