"""Audio input: constants, decoding files and buffers to 16 kHz mono float32.

Everything downstream of this module sees float32 mono samples in [-1, 1] at
``SAMPLE_RATE``. Files of any rate, channel count and sample format are converted here.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Union

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

SAMPLE_RATE = 16_000  # Hz, the rate every model and stage works at
INT16_SCALE = 32_768.0  # full scale of signed 16-bit PCM

AudioInput = Union[str, Path, bytes, np.ndarray, dict]


class AudioError(ValueError):
    """Input audio that cannot be used: missing, empty, corrupt, or not finite."""


def to_mono_float32(samples: np.ndarray) -> np.ndarray:
    """Mix [frames, channels] or [frames] samples of any dtype to float32 mono in [-1, 1]."""
    x = np.asarray(samples)
    if x.ndim not in (1, 2):
        raise AudioError(f"expected 1-D or 2-D (frames, channels) samples, got shape {x.shape}")
    if np.issubdtype(x.dtype, np.integer):  # scale to [-1, 1) before mixing
        info = np.iinfo(x.dtype)
        x = (x.astype(np.float64) - (info.max + info.min + 1) / 2) / ((info.max - info.min + 1) / 2)
    if x.ndim == 2:
        x = x.mean(axis=1)
    return np.ascontiguousarray(x, dtype=np.float32)


def resample(x: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """Resample a whole signal with a polyphase filter (scipy's resample_poly)."""
    if rate <= 0:
        raise AudioError(f"sample rate must be positive, got {rate}")
    if rate == target:
        return x.astype(np.float32, copy=False)
    g = np.gcd(int(rate), int(target))
    return resample_poly(x, target // g, rate // g).astype(np.float32)


def check_finite(x: np.ndarray, what: str = "audio") -> np.ndarray:
    if x.size == 0:
        raise AudioError(f"{what} is empty (no samples)")
    if not np.all(np.isfinite(x)):
        raise AudioError(f"{what} contains NaN or infinite samples")
    return x


def load_audio(path: Union[str, Path]) -> np.ndarray:
    """Read WAV/FLAC/OGG (anything libsndfile reads) as 16 kHz mono float32."""
    p = Path(path)
    if not p.exists():
        raise AudioError(f"{p}: no such file")
    if p.is_dir():
        raise AudioError(f"{p}: is a directory, expected an audio file")
    if p.stat().st_size == 0:
        raise AudioError(f"{p}: file is empty")
    try:
        data, rate = sf.read(str(p), always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as e:
        raise AudioError(f"{p}: not a readable audio file ({_short(e)})") from None
    return check_finite(resample(to_mono_float32(data), rate), str(p))


def decode_bytes(blob: bytes) -> np.ndarray:
    """Decode an encoded audio file held in memory (WAV/FLAC/OGG)."""
    if not blob:
        raise AudioError("audio bytes are empty")
    try:
        data, rate = sf.read(io.BytesIO(blob), always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as e:
        raise AudioError(f"bytes are not a readable audio file ({_short(e)})") from None
    return check_finite(resample(to_mono_float32(data), rate), "audio bytes")


def as_audio(audio: Any) -> np.ndarray:
    """Accept what the Hugging Face audio pipeline accepts: a path, encoded bytes,
    a 16 kHz numpy array, or ``{"sampling_rate": int, "array": np.ndarray}``."""
    if isinstance(audio, (str, Path)):
        return load_audio(audio)
    if isinstance(audio, (bytes, bytearray)):
        return decode_bytes(bytes(audio))
    if isinstance(audio, dict):
        if "array" not in audio or "sampling_rate" not in audio:
            raise AudioError('a dict input needs "array" and "sampling_rate" keys')
        x = to_mono_float32(np.asarray(audio["array"]))
        return check_finite(resample(x, int(audio["sampling_rate"])))
    if isinstance(audio, np.ndarray):
        return check_finite(to_mono_float32(audio))
    raise TypeError(f"expected a path, bytes, numpy array or dict, got {type(audio).__name__}")


def _short(e: Exception) -> str:
    return str(e).strip().splitlines()[0][:160] if str(e).strip() else type(e).__name__
