"""One change to the wake-word recipe, measured on one fold: train a model with some training
settings changed (``--set name=value``, the fields of export.wakeword.WakewordConfig), then
measure it as benchmarks.wakeword does, on the half of the false-accept stream whose speakers it
never heard (about 30 minutes) and on all the real recordings of the phrase.

    .venv/bin/python -m benchmarks.wakeword_ablation aux_off view_glass --fold 0 --set aux_weight=0

Appends one JSON line to OUT/ablations.jsonl and rewrites OUT/ablations.md. It trains what
``edge-export wakeword`` trains with those settings: since 2026-12-01 two CTC models by default
(the rows before were one model without the CTC head; each row's config says which), so
``--set models=1 --set ctc_weight=0`` compares with them. A single fold and a single seed:
differences of a few events or points are within what a different seed gives.
Recall at "<= N events" is the best recall at a threshold that gives at most N false accepts in
that half hour.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import asdict  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks.wakeword import THRESHOLDS, fold_pass, parse_settings  # noqa: E402
from benchmarks.wakeword_data import KEYWORDS, phrase_of, positive_clips  # noqa: E402

EVENT_BUDGETS = (0, 1, 2, 4)


def measure_fold(model_path: Path, keyword: str, fold: int, root: Path) -> dict:
    one = fold_pass(model_path, positive_clips(root, keyword), fold, 2, root)
    peaks = one["peaks"]
    events = {float(t): int(e) for t, e in zip(THRESHOLDS, one["events"])}

    def recall_within(n):
        ok = [t for t, e in events.items() if e <= n]
        return round(float(np.mean(peaks >= min(ok))), 3) if ok else 0.0

    return {"hours": round(one["hours"], 3), "recall_at_0.5": round(float(np.mean(peaks >= 0.5)), 3),
            "recall_at_0.8": round(float(np.mean(peaks >= 0.8)), 3), "events_at_0.5": events[0.5], "events_at_0.8": events[0.8],
            "recall_within_events": {str(n): recall_within(n) for n in EVENT_BUDGETS}}


def report(rows: list) -> str:
    lines = ["# Wake-word recipe ablations (one fold, one seed each)", "",
             "Each row: one model trained with the listed settings changed from the defaults of its day, measured on the "
             "half of the false-accept stream it never heard (~0.5 h) and on all real recordings of the phrase. "
             "`python -m benchmarks.wakeword_ablation --help` says how; differences of a few points or events are noise.", "",
             "| name | wake word | fold | settings | recall @0.5 | recall @0.8 | events @0.5 | events @0.8 | "
             + " | ".join(f"recall ≤{n} ev" for n in EVENT_BUDGETS) + " | train min |",
             "|---|---|---:|---|---:|---:|---:|---:|" + "---:|" * len(EVENT_BUDGETS) + "---:|"]
    for r in rows:
        m = r["measured"]
        settings = ", ".join(f"{k}={json.dumps(v)}" for k, v in r["settings"].items()) or "defaults"
        lines.append(f"| {r['name']} | {r['keyword']} | {r['fold']} | {settings} | {m['recall_at_0.5']} | {m['recall_at_0.8']} | "
                     f"{m['events_at_0.5']} | {m['events_at_0.8']} | "
                     + " | ".join(str(m["recall_within_events"][str(n)]) for n in EVENT_BUDGETS) + f" | {r['train_minutes']} |")
    notes = list(dict.fromkeys(r["note"] for r in rows if r.get("note")))  # one line per note, not per row
    return "\n".join(lines + ([""] + [f"- {n}" for n in notes] if notes else [])) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.wakeword_ablation", description=__doc__.split("\n\n")[0])
    ap.add_argument("name", help="a name for this run (the model is OUT/ablations/NAME_KEYWORD_fFOLD.onnx)")
    ap.add_argument("keyword", choices=KEYWORDS)
    ap.add_argument("--fold", type=int, default=0, choices=(0, 1), help="the speaker half kept out of training and measured on")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="a training setting to change (repeatable)")
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--out", default="benchmarks/results/wakeword")
    ap.add_argument("--note", default="", help="a line for the report")
    ap.add_argument("--overwrite", action="store_true", help="retrain NAME if its model exists")
    a = ap.parse_args(argv)
    root, out = Path(a.data).resolve(), Path(a.out)
    if not root.is_dir():
        print(f"error: data folder not found: {root}", file=sys.stderr)
        return 2
    from export.data import DataError, data_root
    from export.record import OutputExistsError
    from export.wakeword import WakewordConfig, build_wakeword

    try:
        settings = parse_settings(a.set)
        cfg = WakewordConfig(phrase=phrase_of(root, a.keyword), heldout_fold=a.fold, n_folds=2, **settings)
        model = out / "ablations" / f"{a.name}_{a.keyword}_f{a.fold}.onnx"  # runs of one name may go side by side
        model.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.time()
        build_wakeword(model, cfg, data_root(str(root)), overwrite=a.overwrite, log=lambda *_: None)
    except (ValueError, TypeError, OutputExistsError, DataError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    row = {"name": a.name, "keyword": a.keyword, "fold": a.fold, "settings": settings, "note": a.note,
           "train_minutes": round((time.time() - t0) / 60, 1), "config": asdict(cfg),
           "measured": measure_fold(model, a.keyword, a.fold, root)}
    log = out / "ablations.jsonl"
    with open(log, "a") as f:
        f.write(json.dumps(row) + "\n")
    rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    (out / "ablations.md").write_text(report(rows))
    print(json.dumps(row["measured"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
