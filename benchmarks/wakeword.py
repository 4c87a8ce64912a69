"""Wake words trained from text alone, measured on real people: recall on the real recordings of each
dev wake word, false accepts per hour on an hour of real audio without it, CPU per audio hour,
side by side with the peers (benchmarks/peer_wakeword.py).

    .venv/bin/python -m benchmarks.wakeword --train --out benchmarks/results/wakeword

The false-accept stream (all dev Speech Commands, EmoDB and noise) is also where the trainer's
real negative speech comes from, so it is measured by two-fold cross-fitting: --train trains each
of the four dev wake words twice with ``edge-export wakeword PHRASE --heldout-fold K`` (K = 0, 1:
the phrase's text only; the Speech Commands and EmoDB speakers and noise files of fold K never
heard), into OUT/models/<keyword>_f<K>.onnx. Model K's false accepts are counted on fold K's part
of the stream; the two parts make up the whole stream the peers are run on. Recall is the mean
of both models' recall on all the real recordings of the phrase. A model shipped or trained by a
user (all folds) hears all of this speech, so these figures are its honest, slightly pessimistic
estimate.

With --models N (N > 1) the system measured is what ``edge-export wakeword --models N`` ships: the
mean of the models of seeds 0..N-1, all trained on the seed-0 model's synthesized clips and
training batches (OUT/models/<keyword>_f<K>_x<N>.onnx, merged from the seed-0 model above and
<keyword>_f<K>_m<S>.onnx; --train trains a missing member alone, which gives the model it is
side by side with the others, and tests/test_wakeword.py checks that this merge is what --models
ships; members trained before 2026-12-01's eighth session drew batches of their own), reported beside the single models as "ours, N models"; --member S measures the seed-S member
alone ("ours, seed S"); --seeds S,S,... measures the mean of other already-trained members
(e.g. 0,2: OUT/models/<keyword>_f<K>_seeds0-2.onnx into OUT/ours_seeds0-2.json, "ours, seeds 0+2"),
so that every pair of seeds can be read, not only 0 and 1; NAME:S takes seed S of the benchmark
folder NAME beside OUT (e.g. --seeds 0,recipe:0 --out OUT/ctc: a model of each recipe).
--set NAME=VALUE trains with a setting of WakewordConfig changed, e.g.
``--train --set hibari_voices=250 --out OUT/hibari`` (not seed, batch_seed, models or gate, which
the benchmark sets itself: refused); ``--set voice_seed=S`` draws the voices and the synthesized
texts anew (0 otherwise), to see how much of a figure is the draw.

Every model runs through the edge runtime's own streaming pipeline (VAD, 100 ms hop, smoothing,
refractory); one pass records the smoothed score of every hop, so every threshold is evaluated
from the same pass with the pipeline's own event rule.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import fcntl  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import fields as dataclass_fields  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks.wakeword_data import (KEYWORDS, REFRACTORY_S, bandwidth_hz, by_pause, by_quartile, count_events,  # noqa: E402
                                      curve_point, distinct_weights, duplicate_groups, longest_pause_s, phrase_of,
                                      positive_clips, read_audio, recall_at, speaking_seconds, top_events)
from edge.model import Model  # noqa: E402
from edge.pipeline import StreamConfig, StreamingPipeline  # noqa: E402
from edge.verify import ENGINES, VerifySpec  # noqa: E402

HOP = 1600  # samples per 100 ms hop: one process() call scores at most one hop
THRESHOLDS = np.round(np.concatenate([np.arange(0.05, 0.95, 0.025), np.arange(0.95, 1.0, 0.005)]), 4)
FOLDS = 2


PINNED = ("seed", "batch_seed", "models", "gate", "verify")  # set by this benchmark itself (seeds 0.., --models, --gate, --verify)


# --verify-set: the settings of edge.verify.VerifySpec but what add_verification sets (the phrase's own, the threshold)
VERIFY_FIELDS = tuple(f.name for f in dataclass_fields(VerifySpec) if f.name not in ("label", "phrase", "pronunciations", "threshold", "engine"))


def parse_settings(items: list, pinned: tuple = (), fields: tuple = None) -> dict:
    """['aux_weight=0', 'channels=[20,28]'] -> {'aux_weight': 0, 'channels': [20, 28]} (values as JSON, else text);
    the names in `pinned` are refused, as the caller sets them itself (a setting silently overridden
    would measure something else than asked). `fields`: the names allowed (default: WakewordConfig's)."""
    option = "--verify-set" if fields else "--set"
    for item in items:
        if item.partition("=")[0] in pinned:
            raise ValueError(f"--set {item}: this benchmark sets {', '.join(pinned)} itself (--models, --gate; seeds from 0)")
    if fields is None:
        from export.wakeword import WakewordConfig

        fields = [f.name for f in dataclass_fields(WakewordConfig)]
    known = set(fields) - {"phrase", "heldout_fold", "n_folds"} - set(pinned)
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or name not in known:
            raise ValueError(f"{option} wants NAME=VALUE with NAME one of {', '.join(sorted(known))}; got {item!r}")
        try:
            out[name] = json.loads(value)
        except json.JSONDecodeError:
            out[name] = value
    return out


def parse_seeds(text: str) -> list:
    """'0,2,ctc:1' -> [('', 0), ('', 2), ('ctc', 1)]: two or more distinct members, each a seed >= 0 of
    OUT's models or NAME:SEED, the seed-SEED model of the benchmark folder NAME beside OUT."""
    seeds = []
    for item in text.split(","):
        name, _, seed = item.rpartition(":")
        if not seed.isdigit() or "-" in name or "/" in name:
            seeds = []
            break
        seeds.append((name, int(seed)))
    if len(seeds) < 2 or len(set(seeds)) != len(seeds):
        raise ValueError(f"--seeds wants two or more distinct seeds >= 0 (or NAME:SEED of a folder beside --out), comma-separated; got {text!r}")
    return seeds


def seeds_tag(seeds: list) -> str:
    """[('', 0), ('ctc', 1)] -> '0-ctc.1', for file names; shown as '0+ctc.1'."""
    return "-".join(f"{name}.{seed}" if name else str(seed) for name, seed in seeds)


def model_path(out: Path, keyword: str, fold: int, seed: int = 0) -> Path:
    """OUT/models/<keyword>_f<fold>.onnx for seed 0, <keyword>_f<fold>_m<seed>.onnx for the other members."""
    return out / "models" / (f"{keyword}_f{fold}.onnx" if seed == 0 else f"{keyword}_f{fold}_m{seed}.onnx")


def merged_path(out: Path, keyword: str, fold: int, merge: str, gate_tag: str) -> Path:
    """OUT/models/<keyword>_f<fold>_<merge><gate_tag>.onnx: the graph averaging a system's members
    (merge "x2", "seeds0-2"...), measured; --train --models N writes it with its record beside it."""
    return out / "models" / f"{keyword}_f{fold}_{merge}{gate_tag}.onnx"


def score_series(model: Model, audio: np.ndarray, label: str, options: StreamConfig = None):
    """(times, smoothed scores of `label`) at every hop of the streaming pipeline over `audio`
    (options: the pipeline's, the runtime's defaults unless given); 0 where the VAD gate is closed
    (no event can fire there)."""
    p = StreamingPipeline(model, options or StreamConfig())
    k = model.labels.index(label)
    times, scores = np.empty(len(audio) // HOP), np.zeros(len(audio) // HOP, np.float32)
    for i in range(len(times)):
        p.process(audio[i * HOP:(i + 1) * HOP])
        times[i] = p.time
        avg = p.decide.average
        scores[i] = avg[k] if avg is not None else 0.0
    return times, scores


def candidate_series(model: Model, audio: np.ndarray, options: StreamConfig = None):
    """(end times, scores) of every candidate a verified wake word's pipeline closes over `audio`
    (edge/verify.py), whatever the threshold: the events at any threshold are among them."""
    p = StreamingPipeline(model, options or StreamConfig())
    closed = []
    for i in range(len(audio) // HOP + 1):  # every hop, then the end of the stream
        p.process(audio[i * HOP:(i + 1) * HOP]) if i < len(audio) // HOP else p.flush()
        if p.decide.last_candidate is not None:
            closed.append(p.decide.last_candidate)
    times, scores = zip(*closed) if closed else ((), ())
    return np.array(times, float), np.array(scores, np.float32)


def fold_pass(path: Path, clips: list, fold: int, n_folds: int, root: Path, options: StreamConfig = None) -> dict:
    """One model (trained with heldout_fold `fold`) over the phrase's real clips and over its fold's
    part of the false-accept stream: peak score per clip, events per threshold of THRESHOLDS,
    stream hours and the CPU seconds of the stream pass. options: the pipeline's (default the
    runtime's)."""
    from export.wakeword import heldout_paths

    model = Model(str(path))
    label = model.labels[1 - model.labels.index("_background_")]
    series = ((lambda m, x: candidate_series(m, x, options)) if model.spec.verify
              else lambda m, x: score_series(m, x, label, options))
    peaks = np.array([np.max(series(model, x)[1], initial=0.0) for _, x in clips])
    paths = heldout_paths(root, fold, n_folds)
    parts = [read_audio(p) for p in paths]
    stream = np.concatenate(parts)
    cpu0 = time.process_time()
    times, scores = series(model, stream)
    cpu = time.process_time() - cpu0
    top = top_events(times, scores, np.cumsum([len(x) for x in parts]) / 16000, [str(p.relative_to(root)) for p in paths],
                     floor=float(THRESHOLDS[0]))
    return {"model": model, "label": label, "peaks": peaks, "hours": len(stream) / 16000 / 3600, "cpu": cpu,
            "events": np.array([count_events(times, scores, t, REFRACTORY_S) for t in THRESHOLDS]),
            "top": [{"fold": fold, **e} for e in top]}


def measure(models: list, keyword: str, root: Path, options: StreamConfig = None) -> dict:
    """Cross-fitted figures of models[k] (trained with heldout_fold k) for one wake word; options:
    the pipeline's (default the runtime's)."""
    clips = positive_clips(root, keyword)
    passes = [fold_pass(path, clips, k, len(models), root, options) for k, path in enumerate(models)]
    peaks = np.stack([p["peaks"] for p in passes])  # [models, clips]
    events, hours, cpu = sum(p["events"] for p in passes), sum(p["hours"] for p in passes), sum(p["cpu"] for p in passes)
    model, label = passes[-1]["model"], passes[-1]["label"]

    curve = [curve_point(t, np.mean(peaks >= t), e, hours) for t, e in zip(THRESHOLDS, events)]
    # the same curve with every recording counted once (the crowd-sourced sets hold takes saved up to 20 times)
    groups = duplicate_groups(clips)
    weights = distinct_weights(clips, groups)
    distinct = [curve_point(t, np.mean((peaks >= t) @ weights), e, hours) for t, e in zip(THRESHOLDS, events)]
    default = model.spec.verify["threshold"] if model.spec.verify else model.spec.threshold_for(label)
    at_default = min(curve, key=lambda p: abs(p["threshold"] - default))
    missed = sorted({name for k in range(len(models)) for (name, _), p in zip(clips, peaks[k]) if p < default})
    seconds = np.array([speaking_seconds(x) for _, x in clips])
    return {"models": [str(m) for m in models], "bytes": Path(models[0]).stat().st_size, "phrase": label,
            "n_positives": len(clips), "stream_hours": round(hours, 4), "cpu_s_per_audio_hour": round(cpu / hours, 1),
            "default": at_default, "curve": curve, "missed_at_default_by_any": missed,
            "n_distinct_recordings": len(groups), "duplicates": [g for g in groups if len(g) > 1],
            "distinct": {"default": min(distinct, key=lambda p: abs(p["threshold"] - default)), "curve": distinct},
            "by_speaking_seconds": by_quartile(seconds, peaks >= default),
            "by_bandwidth_hz": by_quartile(np.array([bandwidth_hz(x) for _, x in clips]), peaks >= default),
            "by_pause_s": by_pause(np.array([longest_pause_s(x) for _, x in clips]), peaks >= default),
            "top_false_accepts": sorted((e for p in passes for e in p["top"]), key=lambda e: -e["score"])[:5]}


def distinct_figures(r: dict) -> dict:
    """measure()'s figures with every recording counted once: recall at <= 1 and <= 0.5 FA/h and at
    the threshold (the false accepts are the stream's, as before), and how many recordings there are."""
    d = r["distinct"]
    at = [recall_at(d["curve"], fa) for fa in (1.0, 0.5)]
    return {"recordings": r["n_distinct_recordings"], "clips": r["n_positives"],
            "recall_at_1_and_0.5_fa_per_hour": [p and p["recall"] for p in at], "default": d["default"]}


def distinct_table(results: dict) -> list:
    """Report lines: ours with every recording counted once (measure()'s "distinct")."""
    rows = [(kw, distinct_figures(r)) for kw, r in results.items() if r and "distinct" in r]
    if not rows:
        return []
    lines = ["", "Ours with every recording counted once (a take saved several times in the crowd-sourced set, found by "
             "`benchmarks.wakeword_data.duplicate_groups`, weighs one clip in all; false accepts as above):", "",
             "| wake word | recordings (clips) | recall @ ≤1 FA/h | recall @ ≤0.5 FA/h | recall @ default |", "|---|---:|---:|---:|---:|"]
    for kw, f in rows:
        at = [f"{100 * x:.1f} %" if x is not None else "–" for x in f["recall_at_1_and_0.5_fa_per_hour"]]
        lines.append(f"| {kw} | {f['recordings']} ({f['clips']}) | {at[0]} | {at[1]} | {100 * f['default']['recall']:.1f} % |")
    return lines


def plot(results: dict, peers: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    names = ["ours (text only)"] + list(peers)
    colours = {name: plt.cm.tab10(i % 10) for i, name in enumerate(names)}  # a system keeps its colour on every phrase
    fig, axes = plt.subplots(1, len(KEYWORDS), figsize=(4.2 * len(KEYWORDS), 4), sharey=True)
    drawn = {}
    for ax, kw in zip(axes, KEYWORDS):
        systems = [("ours (text only)", results.get(kw))] + [(name, p.get(kw)) for name, p in peers.items()]
        for name, r in systems:
            if not r:
                continue
            pts = sorted({(max(p["fa_per_hour"], 0.05), 100 * (1 - p["recall"])) for p in r["curve"]})
            drawn[name], = ax.plot([a for a, _ in pts], [b for _, b in pts], marker=".", color=colours[name])
            if name.startswith("ours"):
                d = r["default"]
                ax.scatter([max(d["fa_per_hour"], 0.05)], [100 * (1 - d["recall"])], s=80, facecolors="none",
                           edgecolors=colours[name], zorder=5)
                drawn["ours at its default threshold"] = Line2D([], [], marker="o", ls="", mfc="none", mec="k", ms=9)
        ax.set_xscale("log")
        ax.set_title(kw.replace("_", " "))
        ax.set_xlabel("false accepts per hour (0 drawn at 0.05)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("misses on real people (%)")
    # one legend for the four plots, below them (a legend in each covered the curves)
    fig.legend(list(drawn.values()), list(drawn), loc="lower center", ncol=min(3, len(drawn)), fontsize=8, frameon=False)
    rows = -(-len(drawn) // 3)
    fig.set_size_inches(4.2 * len(KEYWORDS), 4 + 0.22 * rows)
    fig.tight_layout(rect=(0, (0.22 * rows + 0.1) / (4 + 0.22 * rows), 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def systems_with(results: dict, peers: dict, key: str) -> list:
    """[(wake word, system, its figure `key`)] for ours and each peer that has it, wake word by wake word."""
    return [(kw, name, r[key]) for kw in KEYWORDS for name, r in [("ours", results.get(kw))] + [(n, p.get(kw)) for n, p in peers.items()]
            if r and r.get(key)]


def quarter_table(results: dict, peers: dict, key: str, unit: str, title: str, ends: tuple, digits: int = 2) -> list:
    """Markdown lines: recall in each quarter of the real clips under `key` (by_quartile), per system that has it."""
    sliced = systems_with(results, peers, key)
    if not sliced:
        return []
    lines = ["", title, "", f"| wake word | system | {ends[0]} | second | third | {ends[1]} |", "|---|---|---:|---:|---:|---:|"]
    for kw, name, quarters in sliced:
        cells = [f"{100 * q['recall']:.0f} % ({q['range'][0]:.{digits}f}–{q['range'][1]:.{digits}f} {unit})" if q["recall"] is not None else "–"
                 for q in quarters]
        lines.append(f"| {kw} | {name} | " + " | ".join(cells) + " |")
    return lines


def report(results: dict, peers: dict) -> str:
    lines = ["# Wake words from text alone, on real people", "",
             "Recall: share of the real recordings of the phrase (Picovoice crowd-sourced clips) on which the system fires.",
             "False accepts: events per hour over ~1 h of real audio without the phrase (all dev Speech Commands, EmoDB, noise).",
             f"Refractory {REFRACTORY_S} s for every system. Ours: trained from the phrase's text only; false accepts "
             "cross-fitted over two speaker folds (each model measured on the half of the stream whose speakers it never heard); "
             "run through the edge streaming pipeline (VAD on, 100 ms hop, the idle hops the model asks for).", "",
             "| wake word | system | bytes | recall @ default (FA/h) | recall @ ≤1 FA/h | recall @ ≤0.5 FA/h | CPU s / audio h |",
             "|---|---|---:|---|---:|---:|---:|"]
    for kw in KEYWORDS:
        rows = [("ours", results.get(kw))] + [(name, p.get(kw)) for name, p in peers.items()]
        for name, r in rows:
            if not r:
                continue
            d = r.get("default") or {}
            dflt = f"{100 * d['recall']:.1f} % ({d['fa_per_hour']:.2f})" if d else "–"
            at = [recall_at(r["curve"], fa) for fa in (1.0, 0.5)]
            at = [f"{100 * p['recall']:.1f} %" if p else "–" for p in at]
            lines.append(f"| {kw} | {name} | {r.get('bytes', '–')} | {dflt} | {at[0]} | {at[1]} | {r.get('cpu_s_per_audio_hour', '–')} |")
    lines += distinct_table(results)
    lines += quarter_table(results, peers, "by_speaking_seconds", "s", (
        "Recall at the default threshold by how long the person takes to say the phrase (quarters of the real clips, "
        "seconds from the first to the last 10 ms within 30 dB of the loudest):"), ("quickest quarter", "slowest quarter"))
    lines += quarter_table(results, peers, "by_bandwidth_hz", "Hz", (
        "Recall at the default threshold by the recording's bandwidth (quarters of the real clips by the frequency below "
        "which 99 % of the energy of their loud frames lies: phones and codecs, dull microphones and voices at the low end):"),
        ("narrowest quarter", "widest quarter"), digits=0)
    paused = systems_with(results, peers, "by_pause_s")
    if paused:
        lines += ["", "Recall at the default threshold by the longest pause inside the phrase (10 ms frames over 25 dB below the "
                  "loudest, between the first and the last within 25 dB of it):", "",
                  "| wake word | system | no pause (clips) | a pause (clips) |", "|---|---|---:|---:|"]
        for kw, name, (calm, pause) in paused:
            cells = [f"{100 * g['recall']:.0f} % ({g['clips']}; {g['range'][0]:.2f}–{g['range'][1]:.2f} s)" if g["recall"] is not None
                     else f"– ({g['clips']})" for g in (calm, pause)]
            lines.append(f"| {kw} | {name} | " + " | ".join(cells) + " |")
    tops = systems_with(results, peers, "top_false_accepts")
    if tops:
        lines += ["", "The highest-scoring false accepts in the stream (each its peak score; the file it opened in, after the one "
                  "before it: the window reaches back into it):", "",
                  "| wake word | system | score | fold | at (s) | files |", "|---|---|---:|---:|---:|---|"]
        for kw, name, events in tops:
            lines += [f"| {kw} | {name} | {e['score']:.3f} | {e['fold']} | {e['time_s']} | {' → '.join(e['files'])} |" for e in events]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.wakeword", description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--out", default="benchmarks/results/wakeword")
    ap.add_argument("--train", action="store_true", help="train the 2 x 4 models first (4-19 minutes each here: the first of a phrase synthesizes its voices)")
    ap.add_argument("--keywords", default=",".join(KEYWORDS))
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="with --train: a training setting changed from the defaults (a field of export.wakeword.WakewordConfig); "
                         "give --out a folder of its own")
    ap.add_argument("--models", type=int, default=1, metavar="N",
                    help="measure the mean of N models of seeds 0..N-1 (--train trains them side by side, as edge-export "
                         "wakeword --models N does; if some are trained already, the missing ones alone on seed 0's batches)")
    ap.add_argument("--member", type=int, metavar="S", help="measure the seed-S member of --models alone (S >= 1, already trained)")
    ap.add_argument("--gate", type=float, default=0.0, metavar="P",
                    help="with --models N or --seeds: merge as edge-export wakeword --gate P does (the other members run only "
                         "where seed 0's model gives at least P; export/ensemble.py), into files and results named _gate<P>")
    ap.add_argument("--verify", action="store_true",
                    help="measure the models with a phone recognizer's second opinion (edge/verify.py), as edge-export wakeword "
                         "--verify writes them: verified copies named _verified (pocketsphinx) or _verified_phones, results in "
                         "ours_..._verified[_phones].json")
    ap.add_argument("--verify-engine", choices=ENGINES, default="pocketsphinx",
                    help="with --verify: our own phone recognizer or pocketsphinx (default %(default)s)")
    ap.add_argument("--verify-set", action="append", default=[], metavar="NAME=VALUE",
                    help="with --verify: a setting of edge.verify.VerifySpec changed from its default (floor, weight, "
                         "max_s...), the results and copies named after it")
    ap.add_argument("--seeds", metavar="S,S,...", help="measure the mean of the models of these seeds (already trained; e.g. 0,2), "
                    "NAME:S for seed S of the benchmark folder NAME beside --out")
    a = ap.parse_args(argv)
    root, out = Path(a.data).resolve(), Path(a.out)
    if not root.is_dir():
        print(f"error: data folder not found: {root}", file=sys.stderr)
        return 2
    keywords = [k for k in a.keywords.split(",") if k]
    if not 0 <= a.gate < 1 or (a.gate and a.models == 1 and not a.seeds):
        print("error: --gate wants a probability in [0, 1) and --models N > 1 or --seeds", file=sys.stderr)
        return 2
    gate_tag = f"_gate{a.gate:g}" if a.gate else ""
    if a.models < 1 or (a.member is not None and (a.member < 1 or a.models > 1 or a.train)):
        print("error: --models must be at least 1; --member S needs S >= 1, and neither --models nor --train", file=sys.stderr)
        return 2
    try:
        settings = parse_settings(a.set, PINNED)
        vset = parse_settings(a.verify_set, fields=VERIFY_FIELDS)
        seeds = parse_seeds(a.seeds) if a.seeds is not None else None
        if a.train:  # a setting out of range is told here, in one line, before OUT is made (the training loop would raise a traceback)
            from export.wakeword import WakewordConfig

            try:
                WakewordConfig(**{**settings, "phrase": "check"})
            except (TypeError, ValueError) as e:
                raise ValueError(f"--set: {e}") from None
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if vset and not a.verify:
        print("error: --verify-set changes a setting of --verify: give --verify too", file=sys.stderr)
        return 2
    if seeds and (a.train or a.member is not None or a.models > 1):
        print("error: --seeds measures models already trained: not with --train, --member or --models", file=sys.stderr)
        return 2

    def members(kw: str, k: int) -> list:
        """The trained models measured for fold k of a wake word: one, or those the merge averages."""
        if seeds:
            return [model_path(out.parent / name if name else out, kw, k, s) for name, s in seeds]
        return [model_path(out, kw, k, s) for s in ([a.member or 0] if a.models == 1 else range(a.models))]

    missing = [] if a.train else [str(p) for kw in keywords for k in range(FOLDS) for p in members(kw, k) if not p.exists()]
    if missing:
        print(f"error: not trained yet: {missing[0]}" + (f" and {len(missing) - 1} more" if len(missing) > 1 else ""), file=sys.stderr)
        return 2
    (out / "models").mkdir(parents=True, exist_ok=True)
    if a.train:
        from export.data import data_root
        from export.wakeword import WakewordConfig, build_wakeword

        for kw in keywords:
            for k in range(FOLDS):
                base = {"voice_seed": 0, **settings, "phrase": phrase_of(root, kw), "heldout_fold": k, "n_folds": FOLDS, "batch_seed": 0,
                        "verify": False}  # the models as trained; --verify measures verified copies
                paths = [model_path(out, kw, k, seed) for seed in range(a.models)]
                if a.models > 1 and not any(p.exists() for p in paths):  # all at once, as edge-export wakeword --models N
                    cfg = WakewordConfig(**{**base, "seed": 0, "models": a.models, "gate": a.gate})
                    build_wakeword(merged_path(out, kw, k, f"x{a.models}", gate_tag), cfg, data_root(str(root)), overwrite=True, members=paths)
                    continue
                for seed, path in enumerate(paths):
                    if a.models > 1 and path.exists():
                        continue  # the ensemble reuses the members already trained
                    cfg = WakewordConfig(**{**base, "seed": 0, "models": a.models}).alone(seed)  # on seed 0's batches: the same model
                    build_wakeword(path, cfg, data_root(str(root)), overwrite=True)
    merge = f"seeds{seeds_tag(seeds)}" if seeds else f"x{a.models}" if a.models > 1 else ""  # the system's name, if merged
    models = {kw: [members(kw, k)[0] for k in range(FOLDS)] for kw in keywords}
    if merge:
        from export.ensemble import mean_of_models

        for kw in keywords:
            models[kw] = [merged_path(out, kw, k, merge, gate_tag) for k in range(FOLDS)]
            for k, path in enumerate(models[kw]):
                mean_of_models(members(kw, k), path, gate=a.gate)
    vtag = ("_verified" + ("_phones" if a.verify_engine == "phones" else "") + "".join(f"+{k}={v:g}" if isinstance(v, (int, float)) else f"+{k}={v}" for k, v in sorted(vset.items()))
            if a.verify else "")  # "_verified+max_s=2+weight=8"
    if a.verify:
        import shutil

        from export.wakeword import WakewordConfig, add_verification

        for kw in keywords:
            for k, path in enumerate(models[kw]):
                models[kw][k] = path.with_name(f"{path.stem}{vtag}.onnx")
                shutil.copyfile(path, models[kw][k])
                add_verification(models[kw][k], phrase_of(root, kw), a.verify_engine, **vset)
    results_path = out / (f"ours_{merge}{gate_tag}{vtag}.json" if merge else f"ours_m{a.member}{vtag}.json" if a.member else f"ours{vtag}.json")
    results = {}
    for kw in keywords:
        results[kw] = measure(models[kw], kw, root)
        r = results[kw]
        at = [recall_at(r["curve"], fa) for fa in (1.0, 0.5)]
        print(f"{kw}: recall {r['default']['recall']:.3f} at {r['default']['fa_per_hour']} FA/h (threshold {r['default']['threshold']}), "
              f"@1FA/h {at[0] and at[0]['recall']}, @0.5FA/h {at[1] and at[1]['recall']}, CPU {r['cpu_s_per_audio_hour']} s/h",
              file=sys.stderr)
    with open(out / ".results.lock", "w") as lock:  # runs split by --keywords may finish together
        fcntl.flock(lock, fcntl.LOCK_EX)
        results = {**(json.loads(results_path.read_text()) if results_path.exists() else {}), **results}
        results_path.write_text(json.dumps(results, indent=1))
        write_reports(out)
    print(f"wrote {out}/report.md, det.png, {results_path.name}", file=sys.stderr)
    return 0


def write_reports(out: Path) -> None:
    """report.md and det.png from OUT's ours.json, ours_m<S>.json (other seeds alone), ours_x<N>.json
    (the N-model systems) and peers.json (else the one in OUT's parent folder: the peers are measured
    once, in the main results folder, and the folders of other recipes sit beside it)."""
    peers_path = out / "peers.json" if (out / "peers.json").exists() else out.parent / "peers.json"
    peers = json.loads(peers_path.read_text()).get("peers", {}) if peers_path.exists() else {}
    single = json.loads((out / "ours.json").read_text()) if (out / "ours.json").exists() else {}
    ensembles = {f"ours, seed {p.stem.split('_m')[1]}": json.loads(p.read_text()) for p in sorted(out.glob("ours_m*.json"))}

    def label(stem: str, key: str, what: str) -> str:
        """"ours_x3_gate0.05" -> "ours, 3 models, gate 0.05"; "..._verified+max_s=2" -> "..., verified (max_s=2)"."""
        stem, verified, settings = stem.partition("_verified")
        tag, _, gate = stem.split(key, 1)[1].partition("_gate")
        return (what.format(tag.replace("-", "+")) + (f", gate {gate}" if gate else "")
                + (", verified" + (f" ({settings.strip('+').replace('+', ', ')})" if settings else "") if verified else ""))

    ensembles.update({label(p.stem, "_x", "ours, {} models"): json.loads(p.read_text()) for p in sorted(out.glob("ours_x*.json"))})
    ensembles.update({label(p.stem, "_seeds", "ours, seeds {}"): json.loads(p.read_text()) for p in sorted(out.glob("ours_seeds*.json"))})
    plot(single, {**ensembles, **peers}, out / "det.png")
    (out / "report.md").write_text(report(single, {**ensembles, **peers}))


if __name__ == "__main__":
    sys.exit(main())
