"""Benchmark the MLPerf Tiny keyword-spotting reference model (DS-CNN, INT8 TFLite) on the dev
Speech Commands clips, overall and on the fold our own model holds out, with per-window latency.

The model, its MFCC front end (mlcommons/tiny get_dataset.py reproduced in numpy) and its input
quantisation live in export/mlperf.py, shared with the distillation teacher.

    python benchmarks/peer_mlperf.py [--data ../shared/data] [--out benchmarks/results/peer_mlperf]
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

from edge.audio import load_audio
from export.data import DataError, data_root, fold_of, speech_commands
from export.evaluate import accuracy_report
from export.mlperf import (FFT_LENGTH, LOG_OFFSET, NUM_THREADS, MEL_HIGH_HZ, MEL_LOW_HZ, MODEL_FILE, NUM_FRAMES,
                           NUM_MEL_BINS, NUM_MFCC, PEERS, STRIDE_SAMPLES, WINDOW_SAMPLES, TfliteKws, mfcc,
                           model_labels, scale_and_pad)

N_FOLDS, HELDOUT_FOLD = 5, 0  # our model's held-out fold: fold_of(clip.group, 5) == 0
LATENCY_WARMUP = 20  # windows run before timing


def run_clips(model: TfliteKws, clips) -> tuple:
    """Scores [n, 12] for every clip, and per-window milliseconds for front end and model."""
    scores, feat_ms, model_ms = [], [], []
    for clip in clips:
        audio = load_audio(clip.path)
        t0 = time.perf_counter()
        features = mfcc(scale_and_pad(audio))
        t1 = time.perf_counter()
        scores.append(model.scores(features))
        t2 = time.perf_counter()
        feat_ms.append((t1 - t0) * 1e3)
        model_ms.append((t2 - t1) * 1e3)
    return np.stack(scores), np.array(feat_ms), np.array(model_ms)


def latency(feat_ms: np.ndarray, model_ms: np.ndarray) -> dict:
    """Median and 90th percentile per 1 s window, warm-up windows left out."""
    feat, mod = feat_ms[LATENCY_WARMUP:], model_ms[LATENCY_WARMUP:]
    stats = lambda a: {"median": round(float(np.median(a)), 3), "p90": round(float(np.percentile(a, 90)), 3)}
    return {"front_end": stats(feat), "model": stats(mod), "total": stats(feat + mod),
            "windows": int(len(mod)), "threads": NUM_THREADS, "cpu": platform.processor() or platform.machine()}


def confusion(labels: list, clips, scores: np.ndarray) -> dict:
    """truth -> {predicted: count}, non-zero cells only."""
    out = {}
    for clip, pred in zip(clips, scores.argmax(1)):
        row = out.setdefault(clip.label, {})
        row[labels[pred]] = row.get(labels[pred], 0) + 1
    return out


def benchmark(data: str, peers: str = PEERS) -> dict:
    clips = speech_commands(data_root(data))
    peers = Path(peers).resolve()
    model_path = peers / MODEL_FILE
    if not model_path.is_file():
        raise DataError(f"peer model not found: {model_path} (give --peers)")
    model, labels = TfliteKws(model_path), model_labels(peers)
    scores, feat_ms, model_ms = run_clips(model, clips)
    held = np.array([fold_of(c.group, N_FOLDS) == HELDOUT_FOLD for c in clips])
    held_clips = [c for c, h in zip(clips, held) if h]
    return {
        "model": str(model_path), "model_bytes": model_path.stat().st_size, "labels": labels,
        "input_quantization": {"scale": float(model.scale), "zero_point": int(model.zero_point), "rounding": "truncate"},
        "front_end": {"window_samples": WINDOW_SAMPLES, "stride_samples": STRIDE_SAMPLES, "fft_length": FFT_LENGTH,
                      "mel_bins": NUM_MEL_BINS, "mel_hz": [MEL_LOW_HZ, MEL_HIGH_HZ], "log_offset": LOG_OFFSET,
                      "mfcc": NUM_MFCC, "frames": NUM_FRAMES, "normalise": "divide by signed max"},
        "all_dev": {**accuracy_report(labels, clips, scores), "confusion": confusion(labels, clips, scores)},
        "heldout_fold": {"rule": f"fold_of(group, {N_FOLDS}) == {HELDOUT_FOLD}",
                         **accuracy_report(labels, held_clips, scores[held]),
                         "confusion": confusion(labels, held_clips, scores[held])},
        "latency_ms_per_window": latency(feat_ms, model_ms),
    }


def report(res: dict) -> str:
    """A short markdown summary of results.json."""
    dev, held, lat = res["all_dev"], res["heldout_fold"], res["latency_ms_per_window"]
    lines = ["# MLPerf Tiny KWS reference model (INT8 TFLite) on dev Speech Commands", "",
             f"Model `{Path(res['model']).name}` ({res['model_bytes']:,} bytes), MFCC front end of mlcommons/tiny "
             "get_dataset.py reimplemented in numpy, input quantised by truncation as in its eval code.", "",
             "| class | all dev | n | held-out fold | n |", "|---|---:|---:|---:|---:|"]
    for lab in res["labels"]:
        d, h = dev["per_class"].get(lab, {}), held["per_class"].get(lab, {})
        lines.append(f"| {lab} | {d.get('accuracy', 0):.1%} | {d.get('support', 0)} | {h.get('accuracy', 0):.1%} | {h.get('support', 0)} |")
    lines += [f"| **overall** | **{dev['accuracy']:.1%}** | {dev['n']} | **{held['accuracy']:.1%}** | {held['n']} |", "",
              f"Held-out fold: `{held['rule']}` (group = speaker, or file name for `_silence_`).", "",
              f"Latency per 1 s window ({lat['threads']} thread, {lat['windows']} windows, median / p90 ms): "
              f"front end {lat['front_end']['median']} / {lat['front_end']['p90']}, "
              f"model {lat['model']['median']} / {lat['model']['p90']}, "
              f"total {lat['total']['median']} / {lat['total']['p90']}.", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data", help="data folder holding speech_commands/")
    ap.add_argument("--peers", default=PEERS, help="peer models folder holding mlperf_tiny/ (default %(default)s)")
    ap.add_argument("--out", default="benchmarks/results/peer_mlperf", help="folder for results.json and report.md")
    args = ap.parse_args(argv)
    try:
        res = benchmark(args.data, args.peers)
    except (DataError, ImportError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(res, indent=1) + "\n")
    (out / "report.md").write_text(report(res))
    print(report(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
