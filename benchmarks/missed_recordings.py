"""What the real recordings a wake-word model missed have in common (benchmarks/WAKEWORD.md, 'A
random equaliser and more words run together'): mains hum, the level of the first formant's band,
and how the model's score moves when that band is boosted or the hum filtered out.

    python -m benchmarks.missed_recordings --keyword smart_mirror \\
        --results benchmarks/results/wakeword/base_v1/ours_x2_gate0.05.json \\
        --model benchmarks/results/wakeword/base_v1/models/smart_mirror_f0_x2_gate0.05.onnx

Missed: ``missed_at_default_by_any`` of the result. Hum: the quietest fifth of the clip's 25 ms frames
hold over 90 % of their power below 250 Hz, and its quietest tenth lies within 50 dB of its loudest
frame. Noisy: that 50 dB alone (32 ms frames). Band levels: the mean power spectrum of the frames
within 20 dB of the loudest, 300-1200 Hz against 150-300 Hz. Prints a report; writes nothing.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from .wakeword_data import PAD_S, SAMPLE_RATE, positive_clips, speaking_seconds


def frames(x: np.ndarray, n: int) -> tuple:
    """(frames of n samples, their level in dB)."""
    fr = x[: len(x) // n * n].reshape(-1, n)
    return fr, 10 * np.log10(np.mean(fr ** 2, axis=1) + 1e-12)


def floor_db(x: np.ndarray, n: int) -> float:
    """The quietest tenth of the frames against the loudest, dB."""
    _, level = frames(x, n)
    return float(np.percentile(level, 10) - level.max())


def spectrum(fr: np.ndarray) -> tuple:
    """(bin frequencies, mean power spectrum of the Hann-windowed frames)."""
    return (np.fft.rfftfreq(fr.shape[1], 1 / SAMPLE_RATE),
            np.mean(np.abs(np.fft.rfft(fr * np.hanning(fr.shape[1]), axis=1)) ** 2, axis=0))


def hummed(x: np.ndarray) -> bool:
    fr, level = frames(x, 400)
    f, power = spectrum(fr[level <= np.percentile(level, 20)])
    return floor_db(x, 400) > -50 and power[f < 250].sum() / power.sum() > 0.9


def first_formant_db(x: np.ndarray) -> float:
    """Level of 300-1200 Hz against 150-300 Hz over the loud frames (within 20 dB of the loudest)."""
    fr, level = frames(x, 512)
    f, power = spectrum(fr[level > level.max() - 20])
    return float(10 * np.log10(power[(f >= 300) & (f < 1200)].mean() / power[(f >= 150) & (f < 300)].mean()))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.missed_recordings", description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    ap.add_argument("--keyword", required=True)
    ap.add_argument("--results", required=True, help="a benchmark result (ours*.json): its missed clips")
    ap.add_argument("--model", required=True, help="the model whose scores are probed (one fold's)")
    ap.add_argument("--caught-sample", type=int, default=30, help="caught quiet clips probed (the first by name)")
    a = ap.parse_args(argv)
    try:
        from edge.model import Model
        from scipy.signal import butter, sosfilt

        from .wakeword import score_series

        missed = set(json.loads(Path(a.results).read_text())[a.keyword]["missed_at_default_by_any"])
        clips = [(n, x[int(PAD_S * SAMPLE_RATE):-int(PAD_S * SAMPLE_RATE)]) for n, x in positive_clips(Path(a.data), a.keyword)]
        model = Model(a.model)
    except (OSError, KeyError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    label = model.labels[1 - model.labels.index("_background_")]
    pad = np.zeros(int(PAD_S * SAMPLE_RATE), np.float32)
    band = butter(2, [300, 1200], "bandpass", fs=SAMPLE_RATE, output="sos")
    high = butter(4, 150, "highpass", fs=SAMPLE_RATE, output="sos")

    def peak(y):
        return float(np.max(score_series(model, np.concatenate([pad, np.asarray(y, np.float32), pad]), label)[1]))

    hum = [(n, x) for n, x in clips if hummed(x)]
    print(f"{a.keyword}: {len(clips)} clips, {len(missed)} missed; with hum {len(hum)}, missed {sum(n in missed for n, _ in hum)}")
    long = [n for n, x in clips if speaking_seconds(x) >= 1.7]
    print(f"speaking_seconds >= 1.7 s: {len(long)} clips, {sum(n in dict(hum) for n in long)} of them with hum")
    moved = [peak(sosfilt(high, x)) - peak(x) for _, x in hum]
    print(f"a 150 Hz high-pass moved the hum clips' peak scores by {min(moved):+.2f} to {max(moved):+.2f}")
    groups = {}
    for n, x in clips:
        groups.setdefault(("noisy" if floor_db(x, 512) > -50 else "quiet", "missed" if n in missed else "caught"), []).append((n, x))
    for (noise, fate), members in sorted(groups.items()):
        db = [first_formant_db(x) for _, x in members]
        probed = members if fate == "missed" or noise == "noisy" else members[:a.caught_sample]
        before = np.array([peak(x) for _, x in probed])
        after = np.array([peak((x + (10 ** (8 / 20) - 1) * sosfilt(band, x)) / 2) for _, x in probed])
        print(f"{noise} {fate}: {len(members)} clips, 300-1200 Hz {np.mean(db):+.1f} dB against 150-300 Hz; "
              f"{len(probed)} probed: mean peak {before.mean():.2f}, with 300-1200 Hz +8 dB {after.mean():.2f}; "
              f"at >= {model.spec.threshold_for(label)}: {np.sum(before >= model.spec.threshold_for(label))} then "
              f"{np.sum(after >= model.spec.threshold_for(label))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
