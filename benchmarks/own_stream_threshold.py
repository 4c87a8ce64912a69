"""Could a wake word's threshold be read from the speech it trained on? Each cross-fitted model
of the default's twelve phrase-draws is run over both halves of the false-accept stream of
benchmarks.wakeword: the half it never heard (its false accepts, as the benchmark counts them)
and the half it trained on (in-sample, as a user's model could be scored on its own training
speech). A rule "the lowest threshold at which the in-sample half gives at most N events, plus a
margin M" is then read against the fixed threshold, on recall (the benchmark's curve) and the
held-out false accepts. No retraining.

    .venv/bin/python -m benchmarks.own_stream_threshold --out benchmarks/results/wakeword/own_stream_threshold

Writes results.json (the events per threshold of every model on both halves) and report.md. The
models (.onnx, not kept in git) are those the benchmark folders of SYSTEMS record: on a fresh clone,
make them again with the commands of benchmarks/WAKEWORD.md ('One model of each kind') first.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks.wakeword import THRESHOLDS, score_series  # noqa: E402
from benchmarks.wakeword_data import REFRACTORY_S, count_events, read_audio  # noqa: E402
from edge.model import Model  # noqa: E402
from export.data import DataError, data_root  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "wakeword"
# the default's twelve phrase-draws: (voice draw, folder, the merged models' tag, keywords); the
# models are <folder>/models/<keyword>_f<K>_<tag>.onnx, the benchmark's curve <folder>/ours_<tag>.json
SYSTEMS = [
    (0, "mix_v0", "seedsshapenorm.0-rebase_v0.1_gate0.05", ("smart_mirror", "snowboy", "alexa", "view_glass")),
    (1, "mix_v1", "seedsshapenorm_v1.0-rebase_v1.1_gate0.05", ("smart_mirror", "snowboy")),
    (2, "mix_v2", "seedsshapenorm_v2.0-base_v2.1_gate0.05", ("smart_mirror", "snowboy")),
    (1, "default_v1", "x2_gate0.05", ("alexa", "view_glass")),
    (2, "default_v2", "x2_gate0.05", ("alexa", "view_glass")),
]
RULES = [(n, m) for n in (0, 1, 2, 3, 5, 8) for m in (0.0, 0.1, 0.2, 0.3)]
FIXED = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75)


def events_on_halves(root: Path) -> dict:
    """{"draw D/keyword": {"held": [events per threshold, both fold models], "in": [...], their hours}}."""
    from export.wakeword import heldout_paths

    halves = [np.concatenate([read_audio(p) for p in heldout_paths(root, k, 2)]) for k in (0, 1)]
    out = {}
    for draw, folder, tag, keywords in SYSTEMS:
        for kw in keywords:
            r = {"held": np.zeros(len(THRESHOLDS), int), "in": np.zeros(len(THRESHOLDS), int), "held_hours": 0.0, "in_hours": 0.0}
            for k in (0, 1):
                model = Model(str(RESULTS / folder / "models" / f"{kw}_f{k}_{tag}.onnx"))
                label = model.labels[1 - model.labels.index("_background_")]
                for which, x in (("held", halves[k]), ("in", halves[1 - k])):
                    t, s = score_series(model, x, label)
                    r[which] += [count_events(t, s, th, REFRACTORY_S) for th in THRESHOLDS]
                    r[f"{which}_hours"] += len(x) / 16000 / 3600
            out[f"draw {draw}/{kw}"] = {k: v.tolist() if isinstance(v, np.ndarray) else round(v, 4) for k, v in r.items()}
            print(f"draw {draw} {kw}: held-out events {r['held'][::4].tolist()}, in-sample {r['in'][::4].tolist()} (every 4th threshold)", flush=True)
    return out


def recall_curve(system: str) -> np.ndarray:
    """The benchmark's recall at each of THRESHOLDS of "draw D/keyword"."""
    draw, kw = system.split("/")
    folder, tag = next((f, t) for d, f, t, kws in SYSTEMS if f"draw {d}" == draw and kw in kws)
    curve = json.loads((RESULTS / folder / f"ours_{tag}.json").read_text())[kw]["curve"]
    return np.interp(THRESHOLDS, [p["threshold"] for p in curve], [p["recall"] for p in curve])


def summary(events: dict) -> list:
    """Rows (rule, mean recall, summed held-out FA/h, phrase-draws over 0.5 FA/h, lowest recall)."""
    rows = []
    rec = {s: recall_curve(s) for s in events}

    def row(name, pick):
        idx = {s: int(np.argmin(np.abs(THRESHOLDS - pick(s)))) for s in events}
        recalls = [rec[s][i] for s, i in idx.items()]
        fas = [events[s]["held"][i] / events[s]["held_hours"] for s, i in idx.items()]
        rows.append({"rule": name, "mean_recall": round(float(np.mean(recalls)), 4), "fa_per_hour_summed": round(float(np.sum(fas)), 2),
                     "over_0.5_fa_per_hour": int(sum(f > 0.5 for f in fas)), "lowest_recall": round(float(min(recalls)), 4)})

    for t in FIXED:
        row(f"fixed {t}", lambda s, t=t: t)
    for n, m in RULES:
        row(f"in-sample <= {n} events, + {m}",
            lambda s, n=n, m=m: min(THRESHOLDS[int(np.argmax(np.array(events[s]["in"]) <= n))] + m, THRESHOLDS[-1]))
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.own_stream_threshold", description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", help="data root (default: $EDGE_DATA or ../shared/data)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    try:
        root = data_root(a.data)
        events = events_on_halves(root)
    except (DataError, OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    rows = summary(events)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"thresholds": THRESHOLDS.tolist(), "events": events, "rules": rows}, indent=1))
    lines = ["# A threshold from the training stream, against a fixed one (the default's twelve phrase-draws, cross-fitted)", "",
             "| rule | mean recall | held-out FA/h, summed | phrase-draws over 0.5 FA/h | lowest recall |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {r['rule']} | {100 * r['mean_recall']:.1f} % | {r['fa_per_hour_summed']:.2f} | {r['over_0.5_fa_per_hour']} | "
              f"{100 * r['lowest_recall']:.1f} % |" for r in rows]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
