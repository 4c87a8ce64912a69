"""Does a wake-word model fire on the other dev wake words? Each fold model of a benchmark folder
over the real recordings of the other three phrases, joined end to end (about 1.5 hours, 1,100
utterances), through the streaming pipeline as `benchmarks.wakeword` runs it (benchmarks/WAKEWORD.md,
'The other phrases' recordings left out'):

    python -m benchmarks.other_phrases --models 'benchmarks/results/wakeword/nowake_v2/models/{k}_f{f}_x2_gate0.05.onnx'

{k} is the phrase's folder, {f} the fold (0, 1). A model trained with those recordings among its
negatives (the default) heard them, so its figure is in-sample. Prints one line per phrase and fold
model (events at the threshold, 2 s refractory; the highest smoothed score; the phrase each event
fell on); writes the same as JSON with --json.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from .wakeword_data import KEYWORDS, SAMPLE_RATE, positive_clips


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.other_phrases", description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", required=True, metavar="PATTERN", help="model path with {k} (phrase folder) and {f} (fold)")
    ap.add_argument("--data", help="data root (default: $EDGE_DATA or ../shared/data)")
    ap.add_argument("--threshold", type=float, default=0.6)
    ap.add_argument("--json", metavar="OUT.json", help="also write the figures here")
    a = ap.parse_args(argv)
    from edge.model import Model
    from export.data import DataError, data_root

    from .wakeword import score_series
    from .wakeword_data import REFRACTORY_S, event_indices

    try:
        root = data_root(a.data)
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not (root / "wakewords").is_dir():
        print(f"error: {root / 'wakewords'}: not found (the dev wake-word recordings)", file=sys.stderr)
        return 2
    try:
        a.models.format(k="k", f=0)
    except (KeyError, IndexError, ValueError) as e:
        print(f"error: --models {a.models!r}: only {{k}} and {{f}} may stand in braces ({e!r})", file=sys.stderr)
        return 2
    clips = {k: positive_clips(root, k) for k in KEYWORDS}
    out = {}
    for k in KEYWORDS:
        paths = [Path(a.models.format(k=k, f=f)) for f in (0, 1)]
        if not all(p.is_file() for p in paths):
            continue
        named = [(o, x) for o in KEYWORDS if o != k for _, x in clips[o]]
        audio = np.concatenate([x for _, x in named])
        ends = np.cumsum([len(x) for _, x in named]) / SAMPLE_RATE
        hours = len(audio) / SAMPLE_RATE / 3600
        for f, path in enumerate(paths):
            try:
                model = Model(str(path))
                label = model.labels[1 - model.labels.index("_background_")]
            except ValueError as e:  # edge.model.ModelError is one; or no "_background_" label: not a wake-word model
                print(f"error: {path}: not a wake-word model ({e})", file=sys.stderr)
                return 2
            times, scores = score_series(model, audio, label)
            hits = event_indices(times, scores, a.threshold, REFRACTORY_S)
            on = Counter(named[min(int(np.searchsorted(ends, times[i])), len(named) - 1)][0] for i in hits)
            row = {"model": str(path), "hours": round(hours, 3), "events": len(hits), "per_hour": round(len(hits) / hours, 2),
                   "max_score": round(float(scores.max()), 3), "events_on": dict(on)}
            out[f"{k} fold {f}"] = row
            print(f"{k} fold {f}: {len(hits)} events in {hours:.2f} h of the other phrases ({row['per_hour']}/h) at "
                  f"{a.threshold}, highest score {row['max_score']}, on {dict(on) or '-'}", flush=True)
    if not out:
        print(f"error: no model matches {a.models} for both folds of any phrase", file=sys.stderr)
        return 2
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
