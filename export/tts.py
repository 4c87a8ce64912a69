"""Offline speech synthesis for training data: espeak-ng (every English voice and variant),
flite, festival and, when asked for (its voices measured no better for wake words), SVOX Pico
(pico2wave, Apache-2.0; Debian non-free `libttspico-utils`). mbrola voices are non-commercial
and are never used.

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
FESTIVAL_VOICES = ("cmu_us_slt_arctic_hts", "kal_diphone", "ked_diphone")  # Debian festvox-us-slt-hts, -kallpc16k, -kdlpc16k


@dataclass(frozen=True)
class Voice:
    engine: str  # "espeak-ng", "flite", "festival" or "pico2wave"
    name: str  # espeak voice[+variant], flite voice, festival voice, or pico language (en-US, en-GB)
    rate: int = 160  # espeak words per minute; flite, festival, pico: 100 means normal speed
    pitch: int = 50  # espeak 0-99; pico: percent of normal; ignored by flite and festival

    def command(self, text: str, out: Path):
        """(argv, standard input or None) that writes `text` spoken to the WAV file `out`."""
        if self.engine == "espeak-ng":
            return ["espeak-ng", "-v", self.name, "-s", str(self.rate), "-p", str(self.pitch), "-w", str(out), text], None
        if self.engine == "pico2wave":
            return ["pico2wave", "-l", self.name, "-w", str(out),
                    f"<speed level='{self.rate}'><pitch level='{self.pitch}'>{text}</pitch></speed>"], None
        stretch = 100.0 / self.rate
        if self.engine == "festival":
            return ["text2wave", "-eval", f"(voice_{self.name})", "-eval", f"(Parameter.set 'Duration_Stretch {stretch:.2f})",
                    "-o", str(out)], text
        return ["flite", "-voice", self.name, "--setf", f"duration_stretch={stretch:.2f}", "-t", text, "-o", str(out)], None


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


def festival_voices() -> list:
    """The festival voices of FESTIVAL_VOICES that are installed."""
    if not shutil.which("text2wave"):
        return []
    listed = subprocess.run(["festival", "-b", "(print (voice.list))"], capture_output=True, text=True, timeout=60).stdout
    return [v for v in FESTIVAL_VOICES if v in listed]


def engine_voices(rates=(80, 100, 125)) -> list:
    """Every installed flite and festival voice at each rate (100: normal speed)."""
    out = [Voice("flite", v, r) for v in FLITE_VOICES for r in rates] if shutil.which("flite") else []
    return out + [Voice("festival", v, r) for v in festival_voices() for r in rates]


PICO_LANGUAGES = ("en-US", "en-GB")


def pico_voices(rng: np.random.Generator, n: int) -> list:
    """n random draws of SVOX Pico's English voices at speed 75-130 % and pitch 70-150 % of normal;
    FileNotFoundError if n > 0 and pico2wave is not installed."""
    if n and not shutil.which("pico2wave"):
        raise FileNotFoundError("pico2wave is not installed: pico voices need it (Debian non-free: apt install libttspico-utils)")
    return [Voice("pico2wave", PICO_LANGUAGES[rng.integers(len(PICO_LANGUAGES))], int(rng.integers(75, 131)),
                  int(rng.integers(70, 151))) for _ in range(n)]


def synthesize(text: str, voice: Voice) -> np.ndarray:
    """16 kHz mono float32 of `text` spoken by `voice`, trimmed of leading/trailing silence."""
    key = hashlib.sha256(repr((voice, text)).encode()).hexdigest()[:24]
    path = CACHE / f"{key}.wav"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out.wav"
            argv, stdin = voice.command(text, out)
            subprocess.run(argv, input=stdin, text=True, check=True, capture_output=True, timeout=60)
            shutil.move(str(out), path)
    return trim(load_audio(path))


def trim(x: np.ndarray, floor_db: float = -40.0) -> np.ndarray:
    """Cut leading and trailing samples more than floor_db below the peak."""
    env = np.abs(x)
    loud = np.nonzero(env > env.max() * 10 ** (floor_db / 20))[0]
    return x[loud[0]:loud[-1] + 1] if len(loud) else x


# Speaker gender from synthetic voices (export/gender.py) -----------------------------------
FLITE_GENDER = {"slt": "female", "kal": "male", "kal16": "male", "awb": "male", "rms": "male"}
GENDER_LANGUAGES = ("de", "en-us", "en")  # espeak-ng voices (no mbrola) the gender set speaks with
UNNATURAL_VARIANTS = ("whisper", "whisperf", "Demonic", "UniRobot", "anikaRobot", "announcer", "fast", "croak",
                      "Tweaky", "Mr serious")  # no voicing, robot or effect voices: their gender is not audible
GENDER_PITCH = (30, 70)  # espeak-ng pitch range (0-99, 50 normal) that keeps a variant's gender audible


def variant_genders() -> dict:
    """espeak-ng voice variants by the gender espeak-ng lists for them: {"f1": "female", "m3": "male", ...},
    leaving out whispering, robot and effect variants."""
    if not shutil.which("espeak-ng"):
        return {}
    rows = subprocess.run(["espeak-ng", "--voices=variant"], capture_output=True, text=True).stdout.splitlines()[1:]
    out = {}
    for row in rows:
        cols = row.split()
        if len(cols) < 5 or not cols[4].startswith("!v/"):
            continue
        name = row[row.index("!v/") + 3:].split("  ")[0].strip()  # file names may hold a space ("Mr serious")
        gender = {"F": "female", "M": "male"}.get(cols[2].split("/")[-1])
        if gender and name not in UNNATURAL_VARIANTS and not name.lower().startswith("robosoft"):
            out[name] = gender
    return out


def gendered_voices(rng: np.random.Generator, per_gender: int) -> list:
    """(Voice, gender) pairs: per_gender random espeak-ng language/variant/rate/pitch draws of each gender,
    plus every flite voice at three speeds."""
    variants = variant_genders()
    out = []
    for gender in ("female", "male"):
        names = sorted(v for v, g in variants.items() if g == gender)
        for _ in range(per_gender if names else 0):
            lang = GENDER_LANGUAGES[rng.integers(len(GENDER_LANGUAGES))]
            voice = Voice("espeak-ng", f"{lang}+{names[rng.integers(len(names))]}", int(rng.integers(120, 200)),
                          int(rng.integers(*GENDER_PITCH)))
            out.append((voice, gender))
    if shutil.which("flite"):
        out += [(Voice("flite", v, r), g) for v, g in FLITE_GENDER.items() for r in (80, 100, 125)]
    return out
