"""The real recordings in ``../shared/data``: listing, speaker-disjoint splits, loading.

The data folder is found from ``--data``, else the ``EDGE_DATA`` environment variable,
else ``../shared/data`` from the working directory (the project's root). A missing
folder is an error naming the path, never a silent skip.
"""
from __future__ import annotations

import csv
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from edge.audio import SAMPLE_RATE, load_audio

COMMAND_LABELS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "_silence_", "_unknown_")
SILENCE, UNKNOWN = "_silence_", "_unknown_"
AUDIO_SUFFIXES = (".flac", ".wav", ".ogg")


class DataError(ValueError):
    """The data folder or a labelled set in it is missing or malformed."""


def data_root(path: Optional[str] = None) -> Path:
    root = Path(path or os.environ.get("EDGE_DATA") or "../shared/data").resolve()
    if not root.is_dir():
        raise DataError(f"data folder not found: {root} (give --data or set EDGE_DATA)")
    return root


@dataclass(frozen=True)
class Clip:
    path: Path
    label: str
    speaker: str  # "" where none is known
    meta: tuple = ()  # extra (column, value) pairs, e.g. (("emotion", "anger"),)

    @property
    def group(self) -> str:
        """What a speaker-disjoint split keeps together: the speaker, else the file."""
        return self.speaker or self.path.name


def _with_audio_suffix(root: Path, rel: str) -> Path:
    """metadata.csv may name .wav where the copy holds .flac, or the reverse."""
    p = root / rel
    if p.exists():
        return p
    for suf in AUDIO_SUFFIXES:
        q = p.with_suffix(suf)
        if q.exists():
            return q
    raise DataError(f"{p}: listed in metadata.csv but missing")


def read_metadata(folder: Path) -> list:
    meta = folder / "metadata.csv"
    if not meta.is_file():
        raise DataError(f"{meta}: not found")
    with open(meta, newline="") as f:
        return list(csv.DictReader(f))


def speech_commands(root: Path) -> list:
    folder = root / "speech_commands"
    return [Clip(_with_audio_suffix(folder, r["path"]), r["label"], r.get("speaker", "") or "") for r in read_metadata(folder)]


def labelled_folder(folder: Path) -> list:
    """A folder in Speech Commands layout (<label>/<clip>) or with a metadata.csv (path,label)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder")
    if (folder / "metadata.csv").is_file():
        rows = read_metadata(folder)
        if rows and "label" in rows[0]:
            return [Clip(_with_audio_suffix(folder, r["path"]), r["label"], r.get("speaker", "") or "") for r in rows]
    clips = [Clip(p, p.parent.name, speaker_of(p.name)) for p in sorted(folder.glob("*/*")) if p.suffix.lower() in AUDIO_SUFFIXES]
    if not clips:
        raise DataError(f"{folder}: no audio in <label>/<clip> layout and no metadata.csv with path,label")
    return clips


def speaker_of(name: str) -> str:
    """Speech Commands speaker id from '<spk>_nohash_<n>.wav' or '<word>_<spk>_nohash_<n>.wav'."""
    if "_nohash_" not in name:
        return ""
    return name.split("_nohash_")[0].split("_")[-1]


def fold_of(group: str, n_folds: int) -> int:
    """Deterministic speaker-disjoint fold of a group (speaker id or file name)."""
    return int(hashlib.sha256(("fold:" + group).encode()).hexdigest(), 16) % n_folds


def load_clips(clips, length: Optional[int] = SAMPLE_RATE) -> np.ndarray:
    """Load clips to [n, length] float32, centre-cropped or zero-padded; or a list if length is None."""
    out = [load_audio(c.path) for c in clips]
    if length is None:
        return out
    return np.stack([fit_length(x, length) for x in out]) if out else np.zeros((0, length), np.float32)


def fit_length(x: np.ndarray, length: int) -> np.ndarray:
    if len(x) >= length:
        start = (len(x) - length) // 2
        return x[start:start + length]
    pad = length - len(x)
    return np.pad(x, (pad // 2, pad - pad // 2))


def noise_bank(root: Path) -> dict:
    folder = root / "background_noise"
    files = sorted(p for p in folder.glob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise DataError(f"{folder}: no background noise audio")
    return {p.stem: load_audio(p) for p in files}
