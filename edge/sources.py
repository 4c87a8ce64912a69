"""Audio sources as iterators of 16 kHz mono float32 blocks: files, raw PCM on stdin, a microphone."""
from __future__ import annotations

import queue
import sys
from pathlib import Path
from typing import BinaryIO, Iterator, Optional

import numpy as np

from .audio import INT16_SCALE, SAMPLE_RATE, AudioError, to_mono_float32
from .resample import StreamingResampler

BLOCK_S = 0.1  # seconds of source audio read at a time


def _resampled(blocks: Iterator[np.ndarray], rate: int) -> Iterator[np.ndarray]:
    rs = StreamingResampler(rate)
    for b in blocks:
        if not np.all(np.isfinite(b)):
            raise AudioError("audio contains NaN or infinite samples")
        out = rs.process(b)
        if len(out):
            yield out
    tail = rs.flush()
    if len(tail):
        yield tail


def file_blocks(path, block_s: float = BLOCK_S) -> Iterator[np.ndarray]:
    """Stream a WAV/FLAC/OGG file of any rate and channel count as 16 kHz mono blocks."""
    import soundfile as sf

    p = Path(path)
    if not p.is_file():
        raise AudioError(f"{p}: no such file")
    if p.stat().st_size == 0:
        raise AudioError(f"{p}: file is empty")
    try:
        f = sf.SoundFile(str(p))
    except (sf.LibsndfileError, RuntimeError, TypeError) as e:
        raise AudioError(f"{p}: not a readable audio file ({str(e).splitlines()[0][:120]})") from None
    if f.frames == 0:
        raise AudioError(f"{p}: no audio samples")

    def read():
        with f:
            for b in f.blocks(blocksize=max(1, int(f.samplerate * block_s)), dtype="float32", always_2d=True):
                yield to_mono_float32(b)
    return _resampled(read(), f.samplerate)


def pcm_blocks(stream: BinaryIO = None, rate: int = SAMPLE_RATE, channels: int = 1, block_s: float = BLOCK_S) -> Iterator[np.ndarray]:
    """Raw signed 16-bit little-endian PCM (s16le) from a byte stream, e.g. stdin."""
    stream = stream or sys.stdin.buffer
    frame_bytes = 2 * channels
    want = max(1, int(rate * block_s)) * frame_bytes

    def read():
        carry = b""
        while True:
            chunk = stream.read(want)
            if not chunk:
                break
            data = carry + chunk
            usable = len(data) - len(data) % frame_bytes
            carry = data[usable:]
            x = np.frombuffer(data[:usable], "<i2").astype(np.float32) / INT16_SCALE
            yield x.reshape(-1, channels).mean(axis=1) if channels > 1 else x
    return _resampled(read(), rate)


class Microphone:
    """A sounddevice input stream at the device's own rate, resampled to 16 kHz.

    The callback only copies each block into a queue and counts overflows; the caller's
    loop does all the work (``blocks()``)."""

    def __init__(self, device=None, rate: Optional[int] = None, block_s: float = BLOCK_S, channels: int = 1):
        import sounddevice as sd

        self.sd = sd
        try:
            info = sd.query_devices(device, "input")
        except (ValueError, sd.PortAudioError) as e:
            raise AudioError(f"no such input device {device!r}: {e}") from None
        self.device, self.name = device, info["name"]
        self.rate = int(rate or info["default_samplerate"])
        self.channels = channels
        self.blocksize = max(1, int(self.rate * block_s))
        self.queue: "queue.Queue[np.ndarray]" = queue.Queue()
        self.overflows = 0
        self.stream = None

    def _callback(self, indata, frames, time_info, status):
        if status.input_overflow:
            self.overflows += 1
        self.queue.put(indata.copy())

    def __enter__(self):
        self.stream = self.sd.InputStream(device=self.device, samplerate=self.rate, channels=self.channels, dtype="float32",
                                          blocksize=self.blocksize, callback=self._callback)
        self.stream.start()
        return self

    def __exit__(self, *exc):
        self.stream.stop()
        self.stream.close()

    def blocks(self, max_seconds: Optional[float] = None) -> Iterator[np.ndarray]:
        """16 kHz blocks until max_seconds of audio (None: forever)."""
        def read():
            got = 0
            while max_seconds is None or got < max_seconds * self.rate:
                b = self.queue.get()
                got += len(b)
                yield to_mono_float32(b)
        return _resampled(read(), self.rate)


def list_devices() -> list:
    """Input devices: (index, name, channels, default rate)."""
    import sounddevice as sd

    return [(i, d["name"], d["max_input_channels"], int(d["default_samplerate"]))
            for i, d in enumerate(sd.query_devices()) if d["max_input_channels"] > 0]
