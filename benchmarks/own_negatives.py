"""Your own negatives, measured (benchmarks/WAKEWORD.md, 'Your own negatives'): one phrase's real
recordings split in two halves, half A given to the factory as `--negatives`, half B measured.

    python -m benchmarks.own_negatives split smart_mirror --out /tmp/own     # /tmp/own/A: links to half A's files
    python -m benchmarks.wakeword --train --keywords snowboy --set 'exclude=["wakewords"]' \\
        --set 'negative_audio=["/tmp/own/A"]' --out benchmarks/results/wakeword/yours_neg1_v2 ...
    python -m benchmarks.own_negatives measure smart_mirror --halves /tmp/own/halves.json \\
        --models 'benchmarks/results/wakeword/yours_neg1_v2/models/snowboy_f{f}_x2_gate0.05.onnx' --json OUT.json

`split` keeps a take saved twice in one half (benchmarks.wakeword_data.duplicate_groups) and puts
each recording in half A or B by a hash of its first name (export.data.fold_of), so the same data
always gives the same halves; it writes halves.json and a folder A of links to half A's files.
`measure` joins each half's recordings end to end, each with PAD_S of silence either side, and runs
each fold model ({f}: 0 and 1) over them through the runtime's pipeline at the model's own
settings: events (2 s refractory), recordings with an event, the highest smoothed score.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from .wakeword_data import KEYWORDS, PAD_S, REFRACTORY_S, SAMPLE_RATE, duplicate_groups, event_indices, positive_clips, read_audio


def split(root: Path, keyword: str) -> dict:
    """{"A": [paths], "B": [paths]} of the keyword's recordings, a recording saved twice in one half."""
    from export.data import fold_of

    clips = positive_clips(root, keyword)
    half = {}
    for group in duplicate_groups(clips):
        h = "AB"[fold_of(Path(group[0]).stem, 2)]
        half.update({name: h for name in group})
    folder = root / "wakewords" / keyword
    return {h: [str(folder / name) for name, _ in clips if half[name] == h] for h in "AB"}


def measure(paths: list, pattern: str) -> dict:
    """{"f0": {...}, "f1": {...}}: each fold model's events over the recordings joined end to end."""
    from edge.model import Model

    from .wakeword import score_series

    pad = np.zeros(int(PAD_S * SAMPLE_RATE), np.float32)
    clips = [np.concatenate([pad, read_audio(Path(p)), pad]) for p in paths]
    audio, ends = np.concatenate(clips), np.cumsum([len(x) for x in clips]) / SAMPLE_RATE
    out = {}
    for f in (0, 1):
        model = Model(pattern.format(f=f))
        label = model.labels[1 - model.labels.index("_background_")]
        threshold = model.spec.threshold_for(label)
        times, scores = score_series(model, audio, label)
        hits = event_indices(times, scores, threshold, REFRACTORY_S)
        out[f"f{f}"] = {"model": pattern.format(f=f), "recordings": len(paths), "threshold": threshold, "events": len(hits),
                        "recordings_hit": len({int(np.searchsorted(ends, times[i])) for i in hits}),
                        "max_score": round(float(scores.max()), 3)}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.own_negatives", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    s = sub.add_parser("split", help="split a phrase's recordings into halves A and B")
    s.add_argument("keyword", choices=KEYWORDS)
    s.add_argument("--out", required=True, metavar="DIR", help="where halves.json and the folder A of links go (made; A must not exist)")
    s.add_argument("--data", help="data root (default: $EDGE_DATA or ../shared/data)")
    m = sub.add_parser("measure", help="events of a benchmark's two fold models on each half")
    m.add_argument("keyword", choices=KEYWORDS)
    m.add_argument("--halves", required=True, metavar="halves.json")
    m.add_argument("--models", required=True, metavar="PATTERN", help="model path with {f} (the fold, 0 and 1)")
    m.add_argument("--json", metavar="OUT.json", help="also write the figures here")
    a = ap.parse_args(argv)
    from edge.model import ModelError
    from export.data import DataError, data_root

    try:
        if a.command == "split":
            root = data_root(a.data)
            if not (root / "wakewords" / a.keyword).is_dir():
                raise DataError(f"{root / 'wakewords' / a.keyword}: not found (the phrase's real recordings)")
            out = Path(a.out)
            if (out / "A").exists():
                raise DataError(f"{out / 'A'}: exists (give another --out; nothing was changed)")
            halves = split(root, a.keyword)
            (out / "A").mkdir(parents=True)
            for p in halves["A"]:
                (out / "A" / Path(p).name).symlink_to(Path(p).resolve())
            (out / "halves.json").write_text(json.dumps({"keyword": a.keyword, **halves}, indent=1) + "\n")
            print(f"{a.keyword}: half A {len(halves['A'])} recordings (linked in {out / 'A'}), half B {len(halves['B'])}; {out / 'halves.json'}")
            return 0
        try:
            a.models.format(f=0)
        except (KeyError, IndexError, ValueError) as e:
            raise DataError(f"--models {a.models!r}: only {{f}} may stand in braces ({e!r})") from None
        missing = [a.models.format(f=f) for f in (0, 1) if not Path(a.models.format(f=f)).is_file()]
        if missing:
            raise DataError(f"{missing[0]}: no such model")
        try:
            halves = json.loads(Path(a.halves).read_text())
        except (OSError, ValueError) as e:
            raise DataError(f"--halves {a.halves}: not a halves.json of `split` ({e})") from None
        if halves.get("keyword") != a.keyword or not all(isinstance(halves.get(h), list) for h in "AB"):
            raise DataError(f"--halves {a.halves}: not the halves of {a.keyword}")
        out = {}
        for h in "AB":
            for fold, row in measure(halves[h], a.models).items():
                out[f"{h} {fold}"] = row
                print(f"half {h}, fold {fold[1]}: {row['events']} events on {row['recordings_hit']} of {row['recordings']} "
                      f"recordings at {row['threshold']}, highest score {row['max_score']}", flush=True)
        if a.json:
            Path(a.json).write_text(json.dumps(out, indent=1) + "\n")
        return 0
    except (DataError, ModelError, OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
