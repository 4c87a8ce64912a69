"""Replays of a wake word's second opinion (edge/verify.py) on recorded candidates.

The candidates a verified pipeline closes depend on the wake-word model alone (its smoothed score
against the floor), not on the engine that scores them. ``dump`` runs a benchmark's fold models,
verified, over the phrase's real clips and the fold's part of the false-accept stream (as
``benchmarks.wakeword`` does), and keeps every candidate: its audio, the model's peak score, and
pocketsphinx's keyphrase score when pocketsphinx is installed. ``table`` then scores the candidates
with our phone recognizer and replays any calibration (weight, bias, floor, threshold) of either
engine, giving the benchmark's figures (recall at <= 1 and <= 0.5 false accepts per hour, and at the
threshold) without running the models again; ``calibrate`` searches the calibrations on some
draws. The replay gave ``benchmarks.wakeword --verify``'s pocketsphinx figures to the digit (draw 0); the phones
engine's differ a little where the candidates were kept as float16 (the thirty-second session's
dumps: snowboy draw 9 96.9 against 97.3 % at <= 1 FA/h, the same at <= 0.5), so they are kept as float32 since.

    python -m benchmarks.verify_replay dump --keywords smart_mirror,snowboy,view_glass --draws 7,8 \\
        --models 'benchmarks/results/wakeword/rules_v{draw}/models/{keyword}_f{fold}_x2_gate0.05.onnx' --out DIR
    python -m benchmarks.verify_replay calibrate --dumps DIR --draws 7,8
    python -m benchmarks.verify_replay table --dumps DIR --draws 9,10,11 --json OUT.json

The models are run with the default's eight warped copies (``--no-warps``: as their metadata says).
"""
from __future__ import annotations

import argparse
import itertools
import json
import shutil
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from benchmarks.wakeword import THRESHOLDS, candidate_series
from benchmarks.wakeword_data import REFRACTORY_S, count_events, curve_point, phrase_of, positive_clips, read_audio, recall_at
from edge.verify import fuse

EIGHT_WARPS = (("mel", 0.82), ("mel", 0.9), ("mel", 1.1), ("mel", 1.2), ("time", 0.77), ("time", 0.87), ("time", 1.15), ("time", 1.3))


def dump(model_path: Path, keyword: str, fold: int, root: Path, out: Path, warps: bool = True) -> dict:
    """Every candidate of the verified fold model over the phrase's clips and its fold's stream, into out (.npz)."""
    import edge.verify as V
    from edge.model import Model
    from export.record import read_spec, set_metadata
    from export.wakeword import add_verification, heldout_paths

    try:
        V.pocketsphinx_decoder("")
        engine = "pocketsphinx"
    except V.VerifyError:
        engine = "phones"  # the candidates are the same; only the pocketsphinx column is then empty
    kept = []
    close = V.Candidates.close

    def keeping(self, t, audio):
        if self.open is not None:
            start, _, peak = self.open
            begin = max(0.0, start - self.spec.lead_s)
            segment = np.asarray(audio(begin, t), np.float32)
            raw = self.scorer(segment) if engine == "pocketsphinx" else None
            kept.append((begin, t, peak, np.nan if raw is None else raw, segment))  # float32: the scores as the runtime gives them
        return close(self, t, audio)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(model_path).name
        shutil.copyfile(model_path, path)
        add_verification(path, phrase_of(root, keyword), engine)
        if warps:
            set_metadata(path, replace(read_spec(path), warps=EIGHT_WARPS, warp_from=0.05))
        model = Model(str(path))
        V.Candidates.close = keeping
        try:
            where = []
            clips = positive_clips(root, keyword)
            for i, (_, x) in enumerate(clips):
                n = len(kept)
                candidate_series(model, x)
                where += [i] * (len(kept) - n)
            stream = np.concatenate([read_audio(p) for p in heldout_paths(root, fold, 2)])
            n = len(kept)
            candidate_series(model, stream)
            where += [-1] * (len(kept) - n)
        finally:
            V.Candidates.close = close
    begin, end, peak, ps, seg = zip(*kept) if kept else ((), (), (), (), ())
    np.savez(out, where=np.array(where, int), begin=np.array(begin), end=np.array(end), peak=np.array(peak), pocketsphinx=np.array(ps),
             segment=np.array(seg, dtype=object), n_clips=len(clips), hours=len(stream) / 16000 / 3600)
    return {"candidates": len(kept), "on_clips": sum(w >= 0 for w in where)}


def dump_path(dumps: Path, keyword: str, draw: int, fold: int) -> Path:
    return dumps / f"{keyword}_d{draw}_f{fold}.npz"


def phone_scores(dumps: Path, keyword: str, draw: int, fold: int, root: Path, recognizer: Path = None) -> np.ndarray:
    """Our phone recognizer's score (edge.verify.PhoneScorer) of each candidate of one dump (cached beside it)."""
    from edge.verify import PhoneScorer, VerifySpec, resolve_phones
    from export.phones import pronunciations
    from export.record import sha256

    recognizer = Path(recognizer) if recognizer else resolve_phones()
    cache = dump_path(dumps, keyword, draw, fold).with_suffix(f".phones-{sha256(recognizer)[:12]}.npy")
    if cache.exists():
        return np.load(cache)
    phrase = phrase_of(root, keyword)
    scorer = PhoneScorer(VerifySpec(label=phrase, phrase=phrase, pronunciations=pronunciations(phrase), engine="phones"), recognizer)
    d = np.load(dump_path(dumps, keyword, draw, fold), allow_pickle=True)
    out = np.array([scorer(s.astype(np.float32)) for s in d["segment"]])
    np.save(cache, out)
    return out


def curve(dumps: Path, root: Path, keyword: str, draw: int, engine: str, weight: float, bias: float, missing: float, recognizer=None):
    """(the benchmark's curve over THRESHOLDS, stream hours) of one phrase-draw, both folds."""
    peaks, events, hours = [], np.zeros(len(THRESHOLDS)), 0.0
    for fold in (0, 1):
        d = np.load(dump_path(dumps, keyword, draw, fold), allow_pickle=True)
        score = d["pocketsphinx"] if engine == "pocketsphinx" else phone_scores(dumps, keyword, draw, fold, root, recognizer)
        f = fuse(d["peak"], score, weight, bias, missing)
        where = d["where"]
        best = np.zeros(int(d["n_clips"]))
        np.maximum.at(best, where[where >= 0], f[where >= 0])
        peaks.append(best)
        on = where < 0
        order = np.argsort(d["end"][on])
        events += [count_events(d["end"][on][order], f[on][order].astype(np.float32), t, REFRACTORY_S) for t in THRESHOLDS]
        hours += float(d["hours"])
    peaks = np.stack(peaks)
    return [curve_point(t, np.mean(peaks >= t), e, hours) for t, e in zip(THRESHOLDS, events)], hours


def figures(dumps, root, keywords, draws, engine, weight, bias, missing, threshold, recognizer=None) -> dict:
    """{keyword: {draw: recall at <= 1 and <= 0.5 FA/h, and at the threshold (with its false accepts)}}."""
    out = {}
    for kw in keywords:
        for draw in draws:
            c, hours = curve(dumps, root, kw, draw, engine, weight, bias, missing, recognizer)
            at = min(c, key=lambda p: abs(p["threshold"] - threshold))
            out.setdefault(kw, {})[str(draw)] = {
                "recall_at_1": (recall_at(c, 1.0) or {"recall": 0.0})["recall"], "recall_at_0.5": (recall_at(c, 0.5) or {"recall": 0.0})["recall"],
                "at_threshold": at["recall"], "false_accepts": int(round(at["fa_per_hour"] * hours)), "hours": round(hours, 3)}
    return out


def mean_of(fig: dict, key: str) -> float:
    return float(np.mean([v[key] for per in fig.values() for v in per.values()]))


def main(argv=None) -> int:
    from edge.verify import ENGINE_DEFAULTS

    ap = argparse.ArgumentParser(prog="python -m benchmarks.verify_replay", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump", help="run the fold models and keep every candidate")
    d.add_argument("--models", required=True, help="path pattern with {keyword}, {draw} and {fold}")
    d.add_argument("--no-warps", action="store_true", help="run the models as their metadata says, not with the eight warped copies")
    c = sub.add_parser("calibrate", help="search weight, floor and bias on some draws")
    c.add_argument("--false-accepts", type=int, default=0, metavar="N",
                   help="false accepts allowed at the threshold 0.5, summed over the phrase-draws (default %(default)s)")
    for p in (d, c, sub.add_parser("table", help="the figures of both engines at their settings")):
        p.add_argument("--keywords", default="smart_mirror,snowboy,view_glass")
        p.add_argument("--draws", required=True, help="voice draws, e.g. 7,8")
        p.add_argument("--dumps", "--out", dest="dumps", required=True, metavar="DIR")
        p.add_argument("--data", default="../shared/data")
        p.add_argument("--recognizer", help="phone recognizer (default the shipped one)")
        p.add_argument("--json", help="write the result here")
    a = ap.parse_args(argv)
    dumps, keywords = Path(a.dumps), [k for k in a.keywords.split(",") if k]
    try:
        draws = [int(x) for x in a.draws.split(",")]
    except ValueError:
        print(f"error: --draws wants comma-separated integers, got {a.draws!r}", file=sys.stderr)
        return 2
    root = Path(a.data).resolve()
    if not root.is_dir():
        print(f"error: data folder not found: {root} (give --data)", file=sys.stderr)
        return 2
    result = {}
    if a.command == "dump":
        dumps.mkdir(parents=True, exist_ok=True)
        (dumps / "dumps.json").write_text(json.dumps({"data": str(root), "models": a.models, "warps": not a.no_warps}))
        for kw, draw, fold in itertools.product(keywords, draws, (0, 1)):
            model = Path(a.models.format(keyword=kw, draw=draw, fold=fold))
            if not model.is_file():
                print(f"error: no model {model}", file=sys.stderr)
                return 2
            out = dump_path(dumps, kw, draw, fold)
            if not out.exists():
                result[out.name] = dump(model, kw, fold, root, out, warps=not a.no_warps)
                print(f"{out.name}: {result[out.name]}", file=sys.stderr)
    else:
        missing = [dump_path(dumps, k, dr, f) for k, dr, f in itertools.product(keywords, draws, (0, 1)) if not dump_path(dumps, k, dr, f).exists()]
        if missing:
            print(f"error: not dumped yet: {missing[0]} (run dump first)", file=sys.stderr)
            return 2
    if a.command == "calibrate":
        rows = []
        for w, m in itertools.product((0.5, 0.75, 1.0, 1.5, 2.0, 3.0), (-1.5, -2.0, -2.5, -3.0, -3.5, -5.0)):
            for b in np.arange(-1.0, 6.01, 0.25):
                fig = figures(dumps, root, keywords, draws, "phones", w, b, m, 0.5, a.recognizer)
                rows.append({"weight": w, "missing": m, "bias": float(b), "mean_recall_at_0.5": round(mean_of(fig, "recall_at_0.5"), 4),
                             "mean_recall_at_1": round(mean_of(fig, "recall_at_1"), 4), "mean_at_0.5_threshold": round(mean_of(fig, "at_threshold"), 4),
                             "false_accepts_at_0.5_threshold": sum(v["false_accepts"] for per in fig.values() for v in per.values())})
        rows.sort(key=lambda r: (-r["mean_recall_at_0.5"], -r["mean_at_0.5_threshold"]))
        # the weight and floor of the best mean recall at <= 0.5 FA/h; then, of their biases, the one that catches
        # most at the threshold 0.5 within the false accepts allowed there
        top = rows[0]
        fits = [r for r in rows if (r["weight"], r["missing"]) == (top["weight"], top["missing"])
                and r["false_accepts_at_0.5_threshold"] <= a.false_accepts]
        chosen = max(fits, key=lambda r: (r["mean_at_0.5_threshold"], r["mean_recall_at_0.5"])) if fits else None
        result = {"draws": draws, "keywords": keywords, "false_accepts_allowed": a.false_accepts, "chosen": chosen, "rows": rows}
        for r in rows[:10]:
            print(r, file=sys.stderr)
        print(f"chosen: {chosen}", file=sys.stderr)
    if a.command == "table":
        result = {"draws": draws, "keywords": keywords, "settings": ENGINE_DEFAULTS}
        for engine in ("phones", "pocketsphinx"):
            s = ENGINE_DEFAULTS[engine]
            fig = figures(dumps, root, keywords, draws, engine, s["weight"], s["bias"], s["missing"], s["threshold"], a.recognizer)
            result[engine] = fig
            print(f"{engine} ({s}): mean recall {mean_of(fig, 'recall_at_1'):.4f} / {mean_of(fig, 'recall_at_0.5'):.4f} at <= 1 / <= 0.5 FA/h, "
                  f"{mean_of(fig, 'at_threshold'):.4f} at {s['threshold']} with "
                  f"{sum(v['false_accepts'] for per in fig.values() for v in per.values())} false accepts", file=sys.stderr)
            for kw, per in fig.items():
                for draw, v in per.items():
                    print(f"  {kw} draw {draw}: {v}", file=sys.stderr)
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
