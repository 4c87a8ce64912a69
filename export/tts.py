"""Offline speech synthesis for training data: espeak-ng (every English voice and variant)
and flite. mbrola voices are non-commercial and are never used.

Synthesized clips are cached as WAV under ``~/.cache/edge-tts`` keyed by voice and text.
"""
from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.audio import load_audio

CACHE = Path.home() / ".cache" / "edge-tts"
FLITE_VOICES = ("kal16", "awb", "rms", "slt", "kal")  # awb_time only speaks times


@dataclass(frozen=True)
class Voice:
    engine: str  # "espeak-ng" or "flite"
    name: str  # espeak voice[+variant], or flite voice
    rate: int = 160  # espeak words per minute; flite: 100 means normal speed
    pitch: int = 50  # espeak 0-99; ignored by flite

    def command(self, text: str, out: Path) -> list:
        if self.engine == "espeak-ng":
            return ["espeak-ng", "-v", self.name, "-s", str(self.rate), "-p", str(self.pitch), "-w", str(out), text]
        stretch = 100.0 / self.rate
        return ["flite", "-voice", self.name, "--setf", f"duration_stretch={stretch:.2f}", "-t", text, "-o", str(out)]


def espeak_voices() -> list:
    """English espeak-ng voices (no mbrola) and the variants, as 'voice+variant' names."""
    if not shutil.which("espeak-ng"):
        return []
    def table(arg):
        out = subprocess.run(["espeak-ng", f"--voices={arg}"], capture_output=True, text=True).stdout.splitlines()[1:]
        return [line.split() for line in out if line.strip()]
    langs = sorted({row[1] for row in table("en") if row[4].startswith("gmw/")})  # no mbrola (mb/), no variants
    variants = sorted({row[4].split("/")[-1] for row in table("variant") if row[4].startswith("!v/")})
    return langs + [f"{lang}+{v}" for lang in langs for v in variants]


def available_voices(rng: np.random.Generator, n_espeak: int = 200) -> list:
    """A varied set of voices: random espeak-ng voice/variant/rate/pitch draws plus flite voices at three speeds."""
    voices = []
    names = espeak_voices()
    for _ in range(n_espeak if names else 0):
        voices.append(Voice("espeak-ng", names[rng.integers(len(names))], int(rng.integers(110, 230)), int(rng.integers(15, 90))))
    if shutil.which("flite"):
        voices += [Voice("flite", v, r) for v in FLITE_VOICES for r in (80, 100, 125)]
    return voices


def synthesize(text: str, voice: Voice) -> np.ndarray:
    """16 kHz mono float32 of `text` spoken by `voice`, trimmed of leading/trailing silence."""
    key = hashlib.sha256(repr((voice, text)).encode()).hexdigest()[:24]
    path = CACHE / f"{key}.wav"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out.wav"
            subprocess.run(voice.command(text, out), check=True, capture_output=True, timeout=60)
            shutil.move(str(out), path)
    return trim(load_audio(path))


def trim(x: np.ndarray, floor_db: float = -40.0) -> np.ndarray:
    """Cut leading and trailing samples more than floor_db below the peak."""
    env = np.abs(x)
    loud = np.nonzero(env > env.max() * 10 ** (floor_db / 20))[0]
    return x[loud[0]:loud[-1] + 1] if len(loud) else x
