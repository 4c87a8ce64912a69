"""Log-mel front end, shared by training (export/) and the runtime (edge/).

One implementation in numpy serves both, so the features a model was trained on are
the features it sees on the device. Its parameters travel in the model's metadata.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import scipy.fft
import scipy.sparse
from numpy.lib.stride_tricks import sliding_window_view

from .audio import SAMPLE_RATE

LOG_FLOOR = 1e-6  # added before the log, keeps silence finite


@dataclass(frozen=True)
class LogMelConfig:
    """Parameters of the log-mel front end.

    sample_rate: Hz of the input audio. n_fft: FFT size in samples. win_length and
    hop_length: analysis window and hop in samples (25 ms and 10 ms at 16 kHz).
    n_mels: mel bands. fmin, fmax: band edges in Hz. power: 2 sums the power of the FFT bins
    into each band, 1 their magnitude (as TensorFlow's MFCC recipes, MLPerf-Tiny's among them, do).
    """

    sample_rate: int = SAMPLE_RATE
    n_fft: int = 512
    win_length: int = 400
    hop_length: int = 160
    n_mels: int = 40
    fmin: float = 20.0
    fmax: float = 7_600.0
    power: float = 2.0

    def __post_init__(self):
        if not 0 < self.win_length <= self.n_fft:
            raise ValueError(f"win_length must be in (0, n_fft={self.n_fft}], got {self.win_length}")
        if self.hop_length <= 0 or self.n_mels <= 0:
            raise ValueError("hop_length and n_mels must be positive")
        if not 0 <= self.fmin < self.fmax <= self.sample_rate / 2:
            raise ValueError(f"need 0 <= fmin < fmax <= {self.sample_rate / 2}, got {self.fmin}, {self.fmax}")
        if self.power not in (1.0, 2.0):
            raise ValueError(f"power must be 1 (magnitude) or 2 (power), got {self.power}")

    def n_frames(self, n_samples: int) -> int:
        if n_samples < self.win_length:
            raise ValueError(f"need at least {self.win_length} samples, got {n_samples}")
        return 1 + (n_samples - self.win_length) // self.hop_length

    def to_dict(self) -> dict:
        d = {"type": "logmel", **asdict(self)}
        if d["power"] == 2.0:  # the default, and all models before it existed: their metadata stays as it was
            del d["power"]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "LogMelConfig":
        fields = {k: v for k, v in d.items() if k != "type"}
        unknown = set(fields) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown log-mel parameters: {sorted(unknown)}")
        return cls(**fields)


def _hz_to_mel(f):
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def _mel_to_hz(m):
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(cfg: LogMelConfig) -> np.ndarray:
    """Triangular HTK-style mel filters, shape [n_mels, n_fft // 2 + 1]."""
    bins = np.linspace(0, cfg.sample_rate / 2, cfg.n_fft // 2 + 1)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(cfg.fmin), _hz_to_mel(cfg.fmax), cfg.n_mels + 2))
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (bins[None, :] - lo) / (mid - lo)
    down = (hi - bins[None, :]) / (hi - mid)
    return np.maximum(0.0, np.minimum(up, down)).astype(np.float32)


class LogMel:
    """Stateless log-mel extractor: ``__call__(audio[..., samples]) -> [..., n_mels, frames]``."""

    def __init__(self, cfg: LogMelConfig = LogMelConfig()):
        self.cfg = cfg
        self.window = np.hanning(cfg.win_length + 1)[:-1].astype(np.float32)  # periodic Hann
        self.filters = mel_filterbank(cfg)
        # Sparse (each band spans a few bins), and no BLAS: a multi-threaded BLAS on a busy
        # 2-core device took 5-9 ms for this tiny product against 0.05 ms here (measured).
        self.filters_sparse = scipy.sparse.csr_matrix(self.filters)

    def __call__(self, audio: np.ndarray) -> np.ndarray:
        return self.from_power(self.power(audio))

    def power(self, audio: np.ndarray) -> np.ndarray:
        """Spectrogram [..., frames, n_fft // 2 + 1], power or magnitude as cfg.power says (training
        may alter it before from_power)."""
        x = np.asarray(audio, dtype=np.float32)
        cfg = self.cfg
        n = cfg.n_frames(x.shape[-1])
        frames = sliding_window_view(x, cfg.win_length, axis=-1)[..., ::cfg.hop_length, :][..., :n, :]
        return self.power_of_frames(frames)

    def power_of_frames(self, frames: np.ndarray, padded: np.ndarray = None) -> np.ndarray:
        """power() of frames [..., frames, win_length] already cut; padded: a zeroed float32
        [..., frames, n_fft] to use as the FFT's input (its first win_length columns are written)."""
        cfg = self.cfg
        # the windowed frames written straight into the zero-padded FFT input: no gathered copy of
        # the frames and no padded copy of them (half the time of x[..., index] * window and
        # rfft(n=n_fft) on a training batch, the same numbers)
        if padded is None:
            padded = np.zeros(frames.shape[:-1] + (cfg.n_fft,), np.float32)
        np.multiply(frames, self.window, out=padded[..., :cfg.win_length])
        spec = scipy.fft.rfft(padded, axis=-1)  # float32 in, complex64 out
        power = spec.real ** 2 + spec.imag ** 2
        return power if cfg.power == 2.0 else np.sqrt(power)

    def from_power(self, power: np.ndarray) -> np.ndarray:
        """Log-mel [..., n_mels, frames] of a spectrogram from power()."""
        p = np.asarray(power, np.float32)
        mel = (self.filters_sparse @ p.reshape(-1, p.shape[-1]).T).T.reshape(*p.shape[:-1], -1)  # [..., frames, n_mels]
        return np.log(mel + LOG_FLOOR).swapaxes(-1, -2).astype(np.float32)


class StreamingLogMel:
    """Log-mel of the successive windows of a stream, each `step` samples after the last: when the
    step is a whole number of frame hops, only the frames new since the last window are computed
    (10 of 148 for a 1.5 s window and a 100 ms step) and the rest are kept. The result equals
    LogMel on the whole window. ``__call__(window, steps)``: steps says how many steps after the
    window of the previous call this one is (True: one); 0 or False, or a window too far on to
    keep any frame, computes everything afresh."""

    def __init__(self, logmel: LogMel, window_samples: int, step_samples: int):
        cfg = logmel.cfg
        self.logmel, self.n = logmel, cfg.n_frames(window_samples)
        self.new = step_samples // cfg.hop_length if step_samples % cfg.hop_length == 0 else self.n
        # a step's new frames' samples as one gather, into an FFT input kept zeroed past win_length:
        # a hop then costs the FFT of its frames and little else (sliding_window_view and a fresh
        # padded array took about a quarter of the front end's time per hop, measured); one of each
        # per number of steps a call may be after the last
        self.index, self.padded = {}, {}
        self.buf = None

    def reset(self) -> None:
        self.buf = None

    def _gather(self, new: int):
        if new not in self.index:
            cfg = self.logmel.cfg
            tail = (self.n - new) * cfg.hop_length  # where the new frames' samples start in a window
            self.index[new] = tail + np.arange(new)[:, None] * cfg.hop_length + np.arange(cfg.win_length)
            self.padded[new] = np.zeros((new, cfg.n_fft), np.float32)
        return self.index[new], self.padded[new]

    def __call__(self, window: np.ndarray, steps: int) -> np.ndarray:
        new = int(steps) * self.new
        if self.buf is None or not 0 < new < self.n:
            self.buf = self.logmel(window)
        else:
            index, padded = self._gather(new)
            self.buf[:, :-new] = self.buf[:, new:]
            self.buf[:, -new:] = self.logmel.from_power(self.logmel.power_of_frames(np.asarray(window, np.float32)[index], padded))
        return self.buf


WARP_AXES = ("mel", "time")


def parse_warps(text: str) -> tuple:
    """"mel:0.9,time:1.15" -> (("mel", 0.9), ("time", 1.15)); "none" -> () (ValueError if malformed;
    the axes and factors are checked where they are used)."""
    if text.strip().lower() == "none":
        return ()
    out = []
    for item in text.split(","):
        axis, sep, factor = item.strip().partition(":")
        try:
            out.append((axis, float(factor)))
        except ValueError:
            sep = ""
        if not sep:
            raise ValueError(f"warps: want AXIS:FACTOR,... (e.g. mel:0.9,time:1.15) or none, got {item!r}")
    return tuple(out)


def checked_warps(warps) -> tuple:
    """warps as ((axis, factor), ...), each axis one of WARP_AXES and each factor in [0.5, 2];
    ValueError otherwise (the one check of the model's metadata, the trainer's config and FeatureWarp)."""
    try:
        out = tuple((str(axis), float(factor)) for axis, factor in warps)
    except (TypeError, ValueError):
        out = None
    if out is None or any(axis not in WARP_AXES or not 0.5 <= factor <= 2.0 for axis, factor in out):
        raise ValueError(f"warps must be [axis, factor] pairs, the axis {' or '.join(WARP_AXES)} and the factor in [0.5, 2]; got {warps!r}")
    return out


class FeatureWarp:
    """A test-time warp of log-mel features [..., n_mels, frames], by linear interpolation between
    neighbouring bands or frames (edge values held past the ends).

    ("mel", a): band m takes the level at a times its centre frequency: a > 1 moves formants down,
    as a longer vocal tract would, a < 1 up. ("time", s): the window's last frame is kept and the
    frame j before it takes the level j * s frames before it: s > 1 plays faster, s < 1 slower
    (the pitch and the spectrum are untouched). The runtime averages a wake-word model's outputs
    over such copies of a window (edge.model.ModelSpec.warps)."""

    def __init__(self, axis: str, factor: float, cfg: LogMelConfig, frames: int):
        ((self.axis, self.factor),) = checked_warps([(axis, factor)])
        if axis == "mel":
            centres = _mel_to_hz(np.linspace(_hz_to_mel(cfg.fmin), _hz_to_mel(cfg.fmax), cfg.n_mels + 2))[1:-1]
            src = np.interp(centres * factor, centres, np.arange(cfg.n_mels))
            n = cfg.n_mels
        else:
            src = np.maximum(frames - 1 - np.arange(frames)[::-1] * factor, 0.0)
            n = frames
        self.lo = np.floor(src).astype(np.intp)
        self.hi = np.minimum(self.lo + 1, n - 1)
        self.w = (src - self.lo).astype(np.float32)

    def __call__(self, f: np.ndarray) -> np.ndarray:
        if self.axis == "mel":
            w = self.w[:, None]
            return (f[..., self.lo, :] * (1 - w) + f[..., self.hi, :] * w).astype(np.float32)
        return (f[..., self.lo] * (1 - self.w) + f[..., self.hi] * self.w).astype(np.float32)
