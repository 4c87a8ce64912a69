"""How should the two models of a wake-word pair be joined? Each fold's two trained members run
once, hop by hop, through the edge runtime's streaming pipeline over the phrase's real clips and
the fold's part of the false-accept stream (as `benchmarks.wakeword` measures them), every logit
of both kept; then each rule of joining their logits is replayed over those logits with the
pipeline's own idle hops, smoothing and event rule, and measured as `benchmarks.wakeword` does
(recall at <= 1 and <= 0.5 FA/h, recall and FA/h at the threshold, cross-fitted):

    python -m benchmarks.pair_rules --dir benchmarks/results/wakeword/DIR --keywords snowboy

DIR is a benchmark folder trained with ``benchmarks.wakeword --train --models 2`` (its
models/<keyword>_f<K>.onnx and _f<K>_m1.onnx). Results go to DIR/pair_rules.json and
DIR/pair_rules.md. The rule "gated mean 0.05" is what ``edge-export wakeword`` ships; its row
is the check of the replay against ``benchmarks.wakeword``'s own figures for the same models
(the members' logits here come from the plain merged graph, whose int8 kernels may round the
second model's logits a little differently from the gated graph's; benchmarks/WAKEWORD.md,
'How the two models are joined'). --other also replays each rule over the other phrases'
recordings (benchmarks.other_phrases): events at the threshold. The replay leaves out the
test-time warps a model may ask for (edge.model.ModelSpec.warps, the default since the
twenty-sixth session): its figures are those of the models without them.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks.wakeword import FOLDS, HOP, THRESHOLDS, model_path  # noqa: E402
from benchmarks.wakeword_data import (KEYWORDS, REFRACTORY_S, SAMPLE_RATE, count_events, curve_point,  # noqa: E402
                                      event_indices, positive_clips, read_audio, recall_at, top_events)


def _sigmoid(d: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(d, -60, 60)))


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def rules() -> dict:
    """name -> f(d0, d1) of the two members' logit differences (wake word minus background): the
    joined logit difference, whose sigmoid is the wake word's probability."""
    def gated(w: float, gate: float):
        m = _logit(gate)
        return lambda d0, d1: np.where(d0 >= m, w * d0 + (1 - w) * d1, d0)

    def veto(gate: float):
        m = _logit(gate)
        return lambda d0, d1: np.where(d0 >= m, d1, d0)

    out = {"first alone": lambda d0, d1: d0, "second alone": lambda d0, d1: d1, "mean": lambda d0, d1: (d0 + d1) / 2}
    out.update({f"gated mean {g:g}": gated(0.5, g) for g in (0.05, 0.2)})
    out.update({f"gated {w:g}/{1 - w:g}": gated(w, 0.05) for w in (0.3, 0.4, 0.6)})
    out.update({f"second where first >= {g:g}": veto(g) for g in (0.05, 0.1, 0.2, 0.3)})
    out["min"] = np.minimum
    return out


def plain_pair(members: list, out: Path) -> list:
    """Merge `members` ungated into `out` with each member's logits as a further output; returns
    those outputs' names, in the members' order."""
    import onnx
    from onnx import helper

    from export.ensemble import mean_of_models

    mean_of_models(members, out)
    m = onnx.load(str(out))
    mean = next(n for n in m.graph.node if n.op_type == "Mean")  # its inputs: the members' logits (names compacted)
    names = list(mean.input)
    for n in names:
        m.graph.output.append(helper.make_tensor_value_info(n, m.graph.output[0].type.tensor_type.elem_type, None))
    onnx.save(m, str(out))
    return names


class LogitRecorder:
    """Runs the pair's plain merged graph in the streaming pipeline (every hop) and keeps, per hop,
    whether the model ran (the VAD gate open) and each member's logit difference; `names`: the
    members' outputs (plain_pair)."""

    def __init__(self, path: Path, names: list):
        from edge.model import Model
        from edge.pipeline import StreamConfig

        self.model = Model(str(path))
        self.wake = 1 - self.model.labels.index("_background_")
        self.names, self.config = names, StreamConfig(idle_stride=1)
        self.spec = self.model.spec
        self.last = None
        model, inner = self.model, self

        def scores_of_features(features):
            outs = model.session.run(names, model.feed(features))
            inner.last = [float(o.reshape(-1)[inner.wake] - o.reshape(-1)[1 - inner.wake]) for o in outs]
            return np.array([[0.5, 0.5]], np.float32)

        self.model.scores_of_features = scores_of_features

    def run(self, audio: np.ndarray) -> dict:
        """times [hops], ran [hops] bool, d [members, hops] (0 where the model did not run)."""
        from edge.pipeline import StreamingPipeline

        p = StreamingPipeline(self.model, self.config)
        n = len(audio) // HOP
        times, ran, d = np.empty(n), np.zeros(n, bool), np.zeros((len(self.names), n), np.float32)
        for i in range(n):
            before = p.hops_scored
            p.process(audio[i * HOP:(i + 1) * HOP])
            times[i] = p.time
            if p.hops_scored > before:
                ran[i], d[:, i] = True, self.last
        return {"times": times, "ran": ran, "d": d}


def replay(rec: dict, rule, smoothing: int, idle_stride: int, idle_below: float) -> np.ndarray:
    """The smoothed wake-word score at every hop, as edge.pipeline + edge.decision.EventTrigger
    give it for a model whose logit difference is rule(d0, d1): idle hops (the held score while
    under idle_below), the mean of the last `smoothing` hops, 0 where the VAD gate is closed."""
    p = _sigmoid(rule(rec["d"][0], rec["d"][1]).astype(np.float64))
    ran, n = rec["ran"], len(rec["ran"])
    out, hist = np.zeros(n, np.float32), np.zeros(smoothing)
    filled, held, last = 0, None, -1
    for i in range(n):
        if not ran[i]:
            held, filled = None, 0
            hist[:] = 0.0
            continue
        if held is not None and i - last < idle_stride:
            s = held
        else:
            s, last = p[i], i
            held = s if idle_stride > 1 and s < idle_below else None
        hist[filled % smoothing] = s
        filled += 1
        out[i] = hist.sum() / min(filled, smoothing)
    return out


def measure_rules(recs: dict, settings: tuple, threshold: float) -> dict:
    """recs[fold] = {"clips": [rec...], "stream": rec, "ends", "names", "other": rec or None}."""
    out = {}
    for name, rule in rules().items():
        peaks, events, hours, top, other = [], 0, 0.0, [], []
        for k, r in recs.items():
            peaks.append([replay(c, rule, *settings).max(initial=0.0) for c in r["clips"]])
            s = replay(r["stream"], rule, *settings)
            events = events + np.array([count_events(r["stream"]["times"], s, t, REFRACTORY_S) for t in THRESHOLDS])
            hours += len(s) * HOP / SAMPLE_RATE / 3600
            top += top_events(r["stream"]["times"], s, r["ends"], r["names"], floor=float(THRESHOLDS[0]))
            if r.get("other") is not None:
                o = replay(r["other"], rule, *settings)
                other.append(len(event_indices(r["other"]["times"], o, threshold, REFRACTORY_S)))
        peaks = np.array(peaks)
        curve = [curve_point(t, np.mean(peaks >= t), e, hours) for t, e in zip(THRESHOLDS, events)]
        at = min(curve, key=lambda p: abs(p["threshold"] - threshold))
        out[name] = {"recall_at_1": (recall_at(curve, 1.0) or {}).get("recall"), "recall_at_0.5": (recall_at(curve, 0.5) or {}).get("recall"),
                     "at_threshold": at, "curve": curve, "top_false_accepts": sorted(top, key=lambda e: -e["score"])[:3],
                     **({"other_phrase_events": other} if other else {})}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.pair_rules", description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", required=True, help="a benchmark folder trained with --train --models 2")
    ap.add_argument("--data", help="data root (default: $EDGE_DATA or ../shared/data)")
    ap.add_argument("--keywords", default=",".join(KEYWORDS))
    ap.add_argument("--other", action="store_true", help="also count each rule's events on the other phrases' recordings")
    a = ap.parse_args(argv)
    from export.data import DataError, data_root
    from export.wakeword import heldout_paths

    try:
        root, folder = data_root(a.data), Path(a.dir)
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    keywords = [k for k in a.keywords.split(",") if k]
    unknown = [k for k in keywords if k not in KEYWORDS]
    if unknown:
        print(f"error: --keywords: unknown {unknown[0]!r} (one of {', '.join(KEYWORDS)})", file=sys.stderr)
        return 2
    missing = [str(p) for k in keywords for f in range(FOLDS) for p in (model_path(folder, k, f, 0), model_path(folder, k, f, 1))
               if not p.is_file()]
    if missing:
        print(f"error: not trained yet: {missing[0]}" + (f" and {len(missing) - 1} more" if len(missing) > 1 else ""), file=sys.stderr)
        return 2
    results_path = folder / "pair_rules.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    for kw in keywords:
        clips = [x for _, x in positive_clips(root, kw)]
        other = (np.concatenate([x for o in KEYWORDS if o != kw for _, x in positive_clips(root, o)]) if a.other else None)
        recs = {}
        for f in range(FOLDS):
            members = [model_path(folder, kw, f, 0), model_path(folder, kw, f, 1)]
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "pair.onnx"
                try:
                    recorder = LogitRecorder(path, plain_pair(members, path))
                except Exception as e:  # onnx and onnxruntime raise their own types for a file that is no such model
                    print(f"error: {members[0]}, {members[1].name}: not a pair of two-label wake-word models "
                          f"({str(e).splitlines()[0][:160] if str(e) else type(e).__name__})", file=sys.stderr)
                    return 2
                paths = heldout_paths(root, f, FOLDS)
                parts = [read_audio(p) for p in paths]
                recs[f] = {"clips": [recorder.run(x) for x in clips], "stream": recorder.run(np.concatenate(parts)),
                           "ends": np.cumsum([len(x) for x in parts]) / SAMPLE_RATE,
                           "names": [str(p.relative_to(root)) for p in paths],
                           "other": recorder.run(other) if other is not None else None}
                spec = recorder.spec
            print(f"{kw} fold {f}: recorded", file=sys.stderr, flush=True)
        settings = (spec.smoothing, spec.idle_stride, spec.idle_below)
        results[kw] = measure_rules(recs, settings, spec.threshold_for(spec.labels[recorder.wake]))
        for name, r in results[kw].items():
            print(f"{kw} {name}: {r['recall_at_1']} / {r['recall_at_0.5']}; at {r['at_threshold']['threshold']}: "
                  f"{r['at_threshold']['recall']} ({r['at_threshold']['fa_per_hour']} FA/h)"
                  + (f"; other phrases {r['other_phrase_events']}" if "other_phrase_events" in r else ""), file=sys.stderr)
        results_path.write_text(json.dumps(results, indent=1) + "\n")
    write_report(results, folder / "pair_rules.md")
    return 0


def write_report(results: dict, path: Path) -> None:
    lines = ["# How the pair's two models are joined (benchmarks.pair_rules)", "",
             "Recall at <= 1 / <= 0.5 FA/h; recall at the threshold (FA/h); events on the other phrases' recordings per fold.", ""]
    for kw, by_rule in results.items():
        lines += [f"## {kw}", "", "| rule | <= 1 / <= 0.5 FA/h | at the threshold | other phrases |", "|---|---:|---:|---:|"]
        for name, r in by_rule.items():
            fmt = lambda v: "–" if v is None else f"{100 * v:.1f}"  # noqa: E731
            at = r["at_threshold"]
            lines.append(f"| {name} | {fmt(r['recall_at_1'])} / {fmt(r['recall_at_0.5'])} | {100 * at['recall']:.1f} % at {at['threshold']:g} "
                         f"({at['fa_per_hour']:.2f}) | {r.get('other_phrase_events', '–')} |")
        lines.append("")
    path.write_text("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
