"""The audio every wake-word system is measured on, ours and the peers' alike.

Positives: each real recording of a wake word in ``<data>/wakewords/<keyword>/`` (people of the
Picovoice crowd-sourced benchmark), played alone with ``PAD_S`` of silence either side. A clip is
caught when the system fires at least once in it.

Negatives: one long stream of real audio that never holds a wake word: every dev Speech Commands
clip, every EmoDB clip and every background-noise file, in sorted path order, concatenated
(about 62 minutes). Every event in it is a false accept.

Only numpy/soundfile are needed here, so the peers' separate environment can import it too.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import soundfile as sf

SAMPLE_RATE = 16_000
PAD_S = 1.0
AUDIO_SUFFIXES = (".flac", ".wav")
KEYWORDS = ("alexa", "smart_mirror", "snowboy", "view_glass")
NEGATIVE_FOLDERS = ("speech_commands", "emodb", "background_noise")
REFRACTORY_S = 2.0  # one utterance of a wake word is one event, for every system measured


def read_audio(path: Path) -> np.ndarray:
    x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    if sr != SAMPLE_RATE:
        raise ValueError(f"{path}: {sr} Hz, expected {SAMPLE_RATE}")
    return x.mean(axis=1)


def _audio_files(folder: Path) -> list:
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: not found (give --data, the shared data folder)")
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)


def phrase_of(root: Path, keyword: str) -> str:
    """The spoken phrase of a wake-word folder, from wakewords/metadata.csv ("smart_mirror" -> "smart mirror")."""
    meta = Path(root) / "wakewords" / "metadata.csv"
    if meta.is_file():
        with open(meta, newline="") as f:
            for row in csv.DictReader(f):
                if row.get("keyword") == keyword and row.get("phrase"):
                    return row["phrase"]
    return keyword.replace("_", " ")


def positive_clips(root: Path, keyword: str) -> list:
    """[(name, audio padded with PAD_S of silence either side)] for one wake word."""
    pad = np.zeros(int(PAD_S * SAMPLE_RATE), np.float32)
    return [(p.name, np.concatenate([pad, read_audio(p), pad])) for p in _audio_files(Path(root) / "wakewords" / keyword)]


DUPLICATE_CORR = 0.98  # two clips whose speech correlates at least this much, at the best lag, are one recording


def _loud_frames(audio: np.ndarray, within_db: float) -> tuple:
    """(the clip's 10 ms frames, the indices of those within within_db of its loudest)."""
    frames = audio[: len(audio) // 160 * 160].reshape(-1, 160)
    level = 10 * np.log10(np.mean(np.square(frames, dtype=np.float64), axis=1) + 1e-12)
    return frames, np.flatnonzero(level > level.max() - within_db)


def _speech(audio: np.ndarray) -> np.ndarray:
    """The clip from 50 ms before its first to 50 ms after its last 10 ms frame within 35 dB of its
    loudest, float64."""
    frames, loud = _loud_frames(audio, 35)
    return frames[max(int(loud[0]) - 5, 0):int(loud[-1]) + 6].reshape(-1).astype(np.float64)


def _below_1khz_at_4khz(x: np.ndarray) -> np.ndarray:
    """x (16 kHz) low-passed at 1 kHz (its spectrum cut there) and resampled to 4 kHz."""
    spectrum = np.fft.rfft(x)
    m = max(len(x) // 4, 2)
    kept = spectrum[: m // 2 + 1].copy()
    kept[int(1000 * len(x) / SAMPLE_RATE) + 1:] = 0.0
    return np.fft.irfft(kept, m)


def _best_correlations(a: np.ndarray, spectra: np.ndarray, norms: np.ndarray, n: int) -> np.ndarray:
    """The normalised cross-correlation of a with each signal whose n-point rFFT and norm are given,
    at each pair's best lag."""
    c = np.fft.irfft(np.fft.rfft(a, n)[None, :] * np.conj(spectra), n, axis=1)
    return c.max(axis=1) / (np.linalg.norm(a) * norms + 1e-12)


def duplicate_groups(clips: list, min_corr: float = DUPLICATE_CORR) -> list:
    """The clips [(name, audio)] grouped into recordings: two clips are one recording when their
    speech correlates at least min_corr at the best lag (the same take saved again, shifted, cut
    otherwise, at another gain or with a little noise: 0.94-1.0 among smart mirror's copies of one take,
    where takes by different people stay under 0.1); groups join through shared members.
    Pairs are first compared below 1 kHz (at 4 kHz), and only those correlating at 0.8 or more
    there are compared at 16 kHz. Sorted lists of names."""
    speech = [_speech(x) for _, x in clips]
    low = [_below_1khz_at_4khz(x) for x in speech]
    n_low = 1 << int(np.ceil(np.log2(2 * max(len(x) for x in low))))
    low_spectra = np.array([np.fft.rfft(x, n_low) for x in low])
    low_norms = np.array([np.linalg.norm(x) for x in low])
    parent = list(range(len(clips)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(clips) - 1):
        near = np.flatnonzero(_best_correlations(low[i], low_spectra[i + 1:], low_norms[i + 1:], n_low) >= 0.8) + i + 1
        for j in near:
            if root(i) != root(j):
                n = 1 << int(np.ceil(np.log2(len(speech[i]) + len(speech[j]))))
                if _best_correlations(speech[i], np.fft.rfft(speech[j], n)[None, :], np.array([np.linalg.norm(speech[j])]), n)[0] >= min_corr:
                    parent[root(i)] = root(j)
    groups = {}
    for i, (name, _) in enumerate(clips):
        groups.setdefault(root(i), []).append(name)
    return sorted(sorted(g) for g in groups.values())


def distinct_weights(clips: list, groups: list) -> np.ndarray:
    """Each clip's weight when every recording counts once: 1 / (its group's size) / (number of groups)."""
    size = {name: len(g) for g in groups for name in g}
    return np.array([1.0 / size[name] for name, _ in clips]) / len(groups)


def speaking_seconds(audio: np.ndarray) -> float:
    """How long the clip's speaker takes: from the first to the last 10 ms frame within 30 dB of its loudest."""
    _, loud = _loud_frames(audio, 30)
    return (loud[-1] - loud[0] + 1) / 100


def longest_pause_s(audio: np.ndarray) -> float:
    """The longest pause inside what the clip's speaker says: the longest run of 10 ms frames more
    than 25 dB below the loudest between the first and the last within 25 dB of it ("smart ...
    mirror"; the silence of a stop inside a word is shorter)."""
    _, loud = _loud_frames(audio, 25)
    return float(np.max(np.diff(loud)) - 1) / 100 if len(loud) > 1 else 0.0


def by_pause(pauses: np.ndarray, hits: np.ndarray, cut: float = 0.15) -> list:
    """Recall (mean of `hits` [..., clips]) of the clips with no pause of `cut` seconds inside the
    phrase, and of those with one (None for an empty group)."""
    out = []
    for lo, hi, part in ((0.0, cut, pauses < cut), (cut, float(np.max(pauses, initial=cut)), pauses >= cut)):
        out.append({"range": [lo, round(hi, 2)], "clips": int(np.sum(part)),
                    "recall": round(float(np.mean(hits[..., part])), 4) if np.any(part) else None})
    return out


def bandwidth_hz(audio: np.ndarray) -> float:
    """How much of the spectrum the recording carries: the frequency below which 99 % of the energy of
    its loud frames lies (32 ms frames every 10 ms within 20 dB of the loudest). Low for band-limited
    recordings (a phone, a codec: 3-4 kHz) and for dull microphones; ~7 kHz for full-band speech."""
    n = 512
    frames = np.lib.stride_tricks.sliding_window_view(np.asarray(audio, np.float32), n)[::160] * np.hanning(n)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    level = 10 * np.log10(power.sum(axis=1) + 1e-12)
    spectrum = power[level > level.max() - 20].sum(axis=0)
    share = np.cumsum(spectrum) / max(float(spectrum.sum()), 1e-12)
    return float(np.fft.rfftfreq(n, 1 / SAMPLE_RATE)[min(np.searchsorted(share, 0.99), n // 2)])


def quarters(values: np.ndarray) -> tuple:
    """(edges, quarter 0-3 of each clip): the clips in quarters ordered by `values`."""
    edges = np.quantile(values, [0, 0.25, 0.5, 0.75, 1])
    return edges, np.clip(np.searchsorted(edges, values, side="right") - 1, 0, 3)


def by_quartile(values: np.ndarray, hits: np.ndarray) -> list:
    """Recall (mean of `hits` [..., clips]) in each quarter of the clips ordered by `values`
    (None for a quarter that tied values leave empty)."""
    edges, part = quarters(values)
    return [{"range": [round(float(edges[q]), 2), round(float(edges[q + 1]), 2)], "clips": int(np.sum(part == q)),
             "recall": round(float(np.mean(hits[..., part == q])), 4) if np.any(part == q) else None} for q in range(4)]


def negative_stream(root: Path) -> np.ndarray:
    """The long stream with no wake word in it, float32 16 kHz mono."""
    parts = [read_audio(p) for folder in NEGATIVE_FOLDERS for p in _audio_files(Path(root) / folder)]
    return np.concatenate(parts).astype(np.float32)


def event_indices(times: np.ndarray, scores: np.ndarray, threshold: float, refractory_s: float) -> list:
    """Where a score series raises events: score >= threshold, at least refractory_s after the
    previous event (the rule of edge.decision.EventTrigger)."""
    out, last = [], -np.inf
    for i in np.nonzero(scores >= threshold)[0]:
        if times[i] - last >= refractory_s:
            out.append(int(i))
            last = times[i]
    return out


def count_events(times: np.ndarray, scores: np.ndarray, threshold: float, refractory_s: float) -> int:
    """Events in a score series (event_indices). Used for every system whose scores are a series."""
    return len(event_indices(times, scores, threshold, refractory_s))


def top_events(times: np.ndarray, scores: np.ndarray, ends_s: np.ndarray, names: list, n: int = 5,
               floor: float = 0.05, refractory_s: float = REFRACTORY_S) -> list:
    """The n highest-scoring events of a score series over files joined end to end (the file k
    ending at ends_s[k] seconds): each event's peak score within its refractory time, when it
    opened, and the names of the file it opened in and of the one before (the window reaches back
    into it). Events as event_indices raises them at `floor`, the lowest threshold looked at."""
    out = []
    for i in event_indices(times, scores, floor, refractory_s):
        k = min(int(np.searchsorted(ends_s, times[i])), len(names) - 1)
        peak = float(np.max(scores[(times >= times[i]) & (times < times[i] + refractory_s)]))
        out.append({"score": round(peak, 3), "time_s": round(float(times[i]), 1), "files": names[max(k - 1, 0):k + 1]})
    return sorted(out, key=lambda e: -e["score"])[:n]


def curve_point(threshold: float, recall: float, fa: int, hours: float) -> dict:
    """One point of a misses-against-false-accepts curve."""
    return {"threshold": float(threshold), "recall": round(float(recall), 4), "fa_per_hour": round(float(fa / hours), 3)}


def recall_at(curve: list, fa: float):
    """The point of best recall among those with at most `fa` false accepts per hour (None: no such point)."""
    ok = [p for p in curve if p["fa_per_hour"] <= fa]
    return max(ok, key=lambda p: (p["recall"], -p["fa_per_hour"])) if ok else None
