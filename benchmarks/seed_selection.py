"""Can a user pick the best of several training seeds of a wake word without real recordings of it?

    .venv/bin/python -m benchmarks.seed_selection --out benchmarks/results/wakeword/seed_selection

The wake-word benchmark (benchmarks/wakeword.py) found that seeds of one recipe differ by up to 40
points of recall at one false accept an hour, and that the threshold a model needs to stay under
that rate on the real negative stream predicts its recall on real people. But that is measured on
the very stream the recall is counted on. Here each fold model's part of the stream is split again
by speaker into two halves: the seed is chosen on one half (the one that needs the lowest
threshold for at most FA false accepts an hour there: what a user could do, since the negatives
come from the data folder), and its recall on real people is read at the threshold the *other*
half allows, against the mean of the seeds, then the halves swap. Recall comes from the
benchmark's results (the curve of OUT/ours*.json); the models are those the benchmark trained
(FAMILY/models/*.onnx, named in those files).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from benchmarks.wakeword import THRESHOLDS, score_series
from benchmarks.wakeword_data import REFRACTORY_S, event_indices, read_audio
from edge.model import Model
from export.data import DataError, data_root
from export.wakeword import heldout_paths, speaker_group

SEED_FILES = ("ours.json", "ours_m1.json", "ours_m2.json")  # seeds 0, 1, 2 of a recipe
FA_LIMITS = (1.0, 2.0)  # per hour; a half of a fold's stream is about half an hour, so one event there is ~2 FA/h


def half_of(root: Path, path: Path) -> int:
    """The speaker half (0 or 1) of a file of the negative stream; a speaker's files share a half.
    Its own hash: export.data.fold_of would put every file of a fold model's stream on one side."""
    source = path.relative_to(root).parts[0]
    return int(hashlib.sha256(("select:" + speaker_group(source, path)).encode()).hexdigest(), 16) % 2


def events_by_half(model_path: str, fold: int, root: Path):
    """Events at every threshold of THRESHOLDS in each speaker half of fold `fold`'s part of the
    stream ([2, thresholds]), and the hours of each half."""
    model = Model(model_path)
    label = model.labels[1 - model.labels.index("_background_")]
    paths = heldout_paths(root, fold, 2)
    parts = [read_audio(p) for p in paths]
    halves = np.array([half_of(root, p) for p in paths])
    ends = np.cumsum([len(x) for x in parts]) / 16000
    hours = np.array([sum(len(x) for x, h in zip(parts, halves) if h == k) for k in (0, 1)]) / 16000 / 3600
    times, scores = score_series(model, np.concatenate(parts), label)
    events = np.zeros((2, len(THRESHOLDS)))
    for j, t in enumerate(THRESHOLDS):
        for i in event_indices(times, scores, t, REFRACTORY_S):
            k = min(int(np.searchsorted(ends, times[i] - 0.05)), len(ends) - 1)  # the file the hop ends in
            events[halves[k], j] += 1
    return events, hours


def lowest_threshold(events: np.ndarray, hours: float, fa: float):
    """Index of the lowest threshold with at most fa false accepts an hour (None: none)."""
    ok = np.nonzero(events / hours <= fa)[0]
    return int(ok.min()) if len(ok) else None


def measure(results: Path, root: Path) -> dict:
    out = {}
    for seed, name in enumerate(SEED_FILES):
        for keyword, res in json.loads((results / name).read_text()).items():
            events, hours = np.zeros((2, len(THRESHOLDS))), np.zeros(2)
            for fold, model in enumerate(res["models"]):
                e, h = events_by_half(model, fold, root)
                events, hours = events + e, hours + h
            out.setdefault(keyword, {})[f"seed {seed}"] = {"events": events.tolist(), "hours": hours.tolist(),
                                                          "recall": [p["recall"] for p in res["curve"]]}
            print(f"{results.name} seed {seed} {keyword}: measured", file=sys.stderr, flush=True)
    return out


def select(measured: dict) -> dict:
    """For each FA limit: per phrase and half, the seed chosen on one half and every seed's recall
    at the other half's threshold; their means."""
    summary = {}
    for fa in FA_LIMITS:
        rows = []
        for keyword, seeds in measured.items():
            for chosen_on, read_on in ((0, 1), (1, 0)):
                def need(s, half):
                    i = lowest_threshold(np.array(seeds[s]["events"][half]), seeds[s]["hours"][half], fa)
                    return THRESHOLDS[i] if i is not None else np.inf

                def recall(s, half):
                    i = lowest_threshold(np.array(seeds[s]["events"][half]), seeds[s]["hours"][half], fa)
                    return seeds[s]["recall"][i] if i is not None else 0.0

                pick = min(seeds, key=lambda s: need(s, chosen_on))
                rows.append({"keyword": keyword, "chosen_on_half": chosen_on, "chosen": pick,
                             "recall_on_other_half": {s: recall(s, read_on) for s in seeds}})
        summary[str(fa)] = {"rows": rows, "chosen": round(float(np.mean([r["recall_on_other_half"][r["chosen"]] for r in rows])), 4),
                            "mean_of_seeds": round(float(np.mean([np.mean(list(r["recall_on_other_half"].values())) for r in rows])), 4),
                            "best": round(float(np.mean([max(r["recall_on_other_half"].values()) for r in rows])), 4),
                            "worst": round(float(np.mean([min(r["recall_on_other_half"].values()) for r in rows])), 4)}
    return summary


def report(by_family: dict) -> str:
    lines = ["# Choosing a wake word's training seed by its false accepts on real negative speech", "",
             "Chosen on one speaker half of the negative stream, measured on the other (benchmarks/seed_selection.py).",
             "Recall on real people at the threshold the other half allows, mean over 4 phrases x 2 halves:", "",
             "| recipe | FA/h limit | chosen seed | mean of the 3 seeds | best seed | worst seed |", "|---|---:|---:|---:|---:|---:|"]
    for family, summary in by_family.items():
        for fa, s in summary.items():
            lines.append(f"| {family} | {fa} | {s['chosen'] * 100:.1f} % | {s['mean_of_seeds'] * 100:.1f} % | "
                         f"{s['best'] * 100:.1f} % | {s['worst'] * 100:.1f} % |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.seed_selection", description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--results", action="append", metavar="DIR",
                    help="a wake-word benchmark output with ours.json, ours_m1.json, ours_m2.json (repeatable; "
                         "default: benchmarks/results/wakeword and benchmarks/results/wakeword/channel)")
    ap.add_argument("--out", default="benchmarks/results/wakeword/seed_selection")
    a = ap.parse_args(argv)
    dirs = [Path(d) for d in (a.results or ["benchmarks/results/wakeword", "benchmarks/results/wakeword/channel"])]
    try:
        root = data_root(a.data)
        for d in dirs:
            missing = [str(d / n) for n in SEED_FILES if not (d / n).is_file()]
            if missing:
                raise DataError(f"benchmark results not found: {', '.join(missing)} (run benchmarks.wakeword --train with --member 1, 2 first)")
        measured = {("recipe" if d.name == "wakeword" else d.name): measure(d, root) for d in dirs}
    except (DataError, OSError, ValueError) as e:
        print(f"seed_selection: error: {e}", file=sys.stderr)
        return 2
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    by_family = {f: select(m) for f, m in measured.items()}
    (out / "results.json").write_text(json.dumps({"measured": measured, "selection": by_family}, indent=1))
    (out / "report.md").write_text(report(by_family))
    print(report(by_family))
    return 0


if __name__ == "__main__":
    sys.exit(main())
