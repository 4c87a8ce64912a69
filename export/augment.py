"""Waveform augmentation for training: time shift, speed, time stretch, gain, real noise at an SNR, reverberation.

All functions take and return float32 mono at 16 kHz and draw from a numpy Generator, so a
fixed seed gives the same training data.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge.audio import SAMPLE_RATE

QUIET_SHARE = 0.25  # share of 'silence' examples that are near-digital silence rather than noise


@dataclass(frozen=True)
class AugmentConfig:
    """shift_s: largest time shift either way. speed: (min, max) factor (pitch moves with it).
    gain_db: (min, max) gain. noise_p: chance of adding real noise, at snr_db (min, max).
    reverb_p: chance of a synthetic room response with RT60 in rt60_s (min, max).
    channel_p: chance of a random microphone and channel response (colour), after the noise.
    eq_p: chance of a random equaliser's peaks and dips (equalise), after that."""

    shift_s: float = 0.15
    speed: tuple = (0.88, 1.12)
    gain_db: tuple = (-15.0, 6.0)
    noise_p: float = 0.8
    snr_db: tuple = (0.0, 25.0)
    reverb_p: float = 0.3
    rt60_s: tuple = (0.15, 0.7)
    channel_p: float = 0.0
    eq_p: float = 0.0


def change_speed(x: np.ndarray, factor: float) -> np.ndarray:
    """Play faster (factor > 1) or slower by linear interpolation; pitch follows."""
    n = max(2, int(round(len(x) / factor)))
    return np.interp(np.linspace(0, len(x) - 1, n), np.arange(len(x)), x).astype(np.float32)


def stretch(x: np.ndarray, factor: float, frame: int = 384, tolerance: int = 160) -> np.ndarray:
    """Make x `factor` times longer (factor > 1: slower) with its pitch kept, by waveform-similarity
    overlap-add (WSOLA): each frame of the output is the piece of the input near its nominal place
    that best continues the frame before, so pitch periods line up."""
    hop = frame // 2
    n_out = int(round(len(x) * factor))
    pad = np.concatenate([np.zeros(tolerance + frame, np.float32), np.asarray(x, np.float32),
                          np.zeros(tolerance + 2 * frame, np.float32)])
    window = np.hanning(frame).astype(np.float32)
    out = np.zeros(n_out + frame, np.float32)
    norm = np.zeros(n_out + frame, np.float32)
    prev = tolerance + frame  # where the last frame was taken from (padded coordinates)
    for k in range(n_out // hop + 1):
        nominal = tolerance + frame + int(round(k * hop / factor))
        if k == 0:
            pos = nominal
        else:
            natural = pad[prev + hop:prev + hop + frame]
            region = pad[nominal - tolerance:nominal + tolerance + frame]
            pos = nominal - tolerance + int(np.argmax(np.correlate(region, natural, mode="valid")))
        out[k * hop:k * hop + frame] += window * pad[pos:pos + frame]
        norm[k * hop:k * hop + frame] += window
        prev = pos
    return (out[:n_out] / np.maximum(norm[:n_out], 1e-3)).astype(np.float32)


def place(x: np.ndarray, length: int, offset: int) -> np.ndarray:
    """Put x into a zero window of `length` samples, its centre moved by `offset` samples."""
    out = np.zeros(length, np.float32)
    start = (length - len(x)) // 2 + offset
    a, b = max(0, start), min(length, start + len(x))
    if b > a:
        out[a:b] = x[a - start:b - start]
    return out


def noise_segment(noise: np.ndarray, length: int, rng: np.random.Generator) -> np.ndarray:
    if len(noise) <= length:
        return np.resize(noise, length).astype(np.float32)
    start = rng.integers(0, len(noise) - length)
    return noise[start:start + length]


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x), dtype=np.float64) + 1e-12))


def add_noise(x: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    scale = rms(x) / (rms(noise) * 10 ** (snr_db / 20))
    return x + scale * noise


def room_response(rng: np.random.Generator, rt60: float) -> np.ndarray:
    """A synthetic room impulse response: direct path plus exponentially decaying noise."""
    n = int(rt60 * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60) * 0.3
    tail[0] = 1.0
    return (tail / np.sqrt(np.sum(tail ** 2))).astype(np.float32)


def reverberate(x: np.ndarray, rir: np.ndarray) -> np.ndarray:
    from scipy.signal import fftconvolve

    y = fftconvolve(x, rir)[: len(x)]
    return (y * (rms(x) / rms(y))).astype(np.float32)


def channel_response(n: int, rng: np.random.Generator) -> np.ndarray:
    """Magnitude response, over the rfft bins of n samples, of a random microphone and channel: a
    spectral tilt of -3 to +3 dB per octave about 1 kHz, in half of the draws a low-pass at 3-7 kHz
    (the band-limited recordings of a phone or a codec), in half a high-pass at 80-400 Hz (a small
    microphone's bass roll-off)."""
    f = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    h = 10 ** (rng.uniform(-3.0, 3.0) * np.log2(np.maximum(f, 62.5) / 1000.0) / 20)
    if rng.random() < 0.5:
        order = 2 * int(rng.integers(2, 5))  # Butterworth of order 4, 6 or 8
        h = h / np.sqrt(1 + (f / rng.uniform(3000.0, 7000.0)) ** (2 * order))
    if rng.random() < 0.5:
        h = h / np.sqrt(1 + (rng.uniform(80.0, 400.0) / np.maximum(f, 1.0)) ** 4)
    return h


def colour(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """x heard through a random microphone and channel (channel_response), at its own RMS level."""
    y = np.fft.irfft(np.fft.rfft(x) * channel_response(len(x), rng), n=len(x))
    return (y * (rms(x) / rms(y))).astype(np.float32)


def eq_response(n: int, rng: np.random.Generator) -> np.ndarray:
    """Magnitude response, over the rfft bins of n samples, of a random equaliser: one to three bells
    of -10 to +10 dB, centred log-uniformly between 150 Hz and 5 kHz, 0.5 to 2 octaves wide (a
    Gaussian in log-frequency): a microphone's or a room's peaks and dips in the band of the formants,
    which a tilt and band limits do not give (of the noisier real smart mirror recordings, those the
    default missed carried about 9 dB less between 300 and 1200 Hz than those it caught)."""
    octaves = np.log2(np.maximum(np.fft.rfftfreq(n, 1 / SAMPLE_RATE), 20.0))
    db = np.zeros_like(octaves)
    for _ in range(int(rng.integers(1, 4))):
        centre, width = rng.uniform(np.log2(150.0), np.log2(5000.0)), rng.uniform(0.5, 2.0)
        db += rng.uniform(-10.0, 10.0) * np.exp(-0.5 * ((octaves - centre) / (width / 2)) ** 2)
    return 10 ** (db / 20)


def equalise(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """x through a random equaliser (eq_response), at its own RMS level."""
    y = np.fft.irfft(np.fft.rfft(x) * eq_response(len(x), rng), n=len(x))
    return (y * (rms(x) / rms(y))).astype(np.float32)


def augment(x: np.ndarray, rng: np.random.Generator, noises: list, cfg: AugmentConfig = AugmentConfig(), length: int = SAMPLE_RATE) -> np.ndarray:
    """One random view of clip x as a window of `length` samples."""
    y = change_speed(x, rng.uniform(*cfg.speed)) if cfg.speed != (1.0, 1.0) else x
    if len(y) > length:  # long clips: a random crop around the centre
        y = y[(len(y) - length) // 2 + rng.integers(-(len(y) - length) // 2, (len(y) - length) // 2 + 1):][:length]
    y = place(y, length, int(rng.uniform(-cfg.shift_s, cfg.shift_s) * SAMPLE_RATE))
    if rng.random() < cfg.reverb_p:
        y = reverberate(y, room_response(rng, rng.uniform(*cfg.rt60_s)))
    if noises and rng.random() < cfg.noise_p:
        y = add_noise(y, noise_segment(noises[rng.integers(len(noises))], length, rng), rng.uniform(*cfg.snr_db))
    if cfg.channel_p and rng.random() < cfg.channel_p and rms(y) > 1e-5:
        y = colour(y, rng)
    if cfg.eq_p and rng.random() < cfg.eq_p and rms(y) > 1e-5:
        y = equalise(y, rng)
    y = y * 10 ** (rng.uniform(*cfg.gain_db) / 20)
    return np.clip(y, -1.0, 1.0).astype(np.float32)


def noise_window(rng: np.random.Generator, noises: list, length: int = SAMPLE_RATE) -> np.ndarray:
    """A 'silence' example: real background noise at a random level, or near-digital silence."""
    if not noises or rng.random() < QUIET_SHARE:  # a quiet room or a muted microphone
        return (rng.standard_normal(length) * 10 ** rng.uniform(-5.5, -3)).astype(np.float32)
    y = noise_segment(noises[rng.integers(len(noises))], length, rng)
    return np.clip(y / (rms(y) + 1e-9) * 10 ** rng.uniform(-3.5, -0.8), -1, 1).astype(np.float32)


ENVELOPE_LIFTER = 30  # cepstral coefficients kept as the spectral envelope: 1.9 ms at 16 kHz, shorter than any voice's pitch period


def shift_pitch_keep_formants(power: np.ndarray, factor: float, lifter: int = ENVELOPE_LIFTER) -> np.ndarray:
    """Move the harmonics of a power spectrogram [..., frames, bins] up or down by `factor` in frequency
    while keeping its spectral envelope (the formants): the cepstrum's first `lifter` coefficients are
    the envelope, the rest (the pitch's fine structure) is resampled along frequency. For feature-domain
    augmentation: a voice's pitch moves, its vocal tract does not."""
    logp = np.log(np.asarray(power, np.float64) + 1e-12)
    cep = np.fft.irfft(logp, axis=-1)
    cep[..., lifter:cep.shape[-1] - lifter + 1] = 0.0
    env = np.fft.rfft(cep, axis=-1).real[..., :logp.shape[-1]]
    fine = logp - env
    src = np.clip(np.arange(logp.shape[-1]) / factor, 0, logp.shape[-1] - 1)
    lo = np.floor(src).astype(int)
    hi, w = np.minimum(lo + 1, logp.shape[-1] - 1), src - lo
    moved = fine[..., lo] * (1 - w) + fine[..., hi] * w
    return np.exp(env + moved).astype(np.float32)
