"""Wake-word models already trained, measured under other runtime settings written into their
metadata: hop, smoothing, idle stride, test-time warps (edge.model.ModelSpec). Cross-fitted as benchmarks.wakeword
measures (each fold's model on the real clips and on its own fold of the false-accept stream), no
retraining: the settings change only what the runtime does with the model.

    .venv/bin/python -m benchmarks.runtime_settings --keywords alexa,smart_mirror,snowboy,view_glass \\
        --models 'benchmarks/results/wakeword/mix_v0/models/{keyword}_f{fold}_seedsshapenorm.0-rebase_v0.1_gate0.05.onnx' \\
        --set idle_stride=2 --set idle_below=0.05 --out benchmarks/results/wakeword/idle/v0_idle2

`--cpu-only` times the stream pass alone (no clips), for runs alternated with a peer's.
`--vad-mode M` runs the pipeline with webrtcvad's aggressiveness M instead of the runtime's 2
(a stream option, `edge listen --vad-mode`, not the model's metadata).
Writes results.json, report.md and det.png (misses against false accepts per hour, beside the peers
of --peers) into --out (the models with their new metadata in --out/models).
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from edge.pipeline import StreamConfig

SETTINGS = ("hop_ms", "smoothing", "idle_stride", "idle_below", "threshold", "refractory_s", "warps", "warp_from")
PEERS = Path(__file__).parent / "results" / "wakeword" / "peers.json"  # benchmarks.peer_wakeword's figures


def parse_set(items: list) -> dict:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or name not in SETTINGS:
            raise ValueError(f"--set wants NAME=VALUE with NAME one of {', '.join(SETTINGS)}; got {item!r}")
        if name == "warps":
            from edge.features import parse_warps

            out[name] = parse_warps(value)
            continue
        try:
            out[name] = float(value) if name in ("idle_below", "threshold", "refractory_s", "warp_from") else int(value)
        except ValueError:
            raise ValueError(f"--set {name}: not a number: {value!r}") from None
    return out


def parse_vad_mode(text):
    """--vad-mode's value -> the pipeline's StreamConfig with it (None: the runtime's defaults)."""
    if text is None:
        return None
    if text not in ("0", "1", "2", "3"):
        raise ValueError(f"--vad-mode must be 0, 1, 2 or 3; got {text!r}")
    return StreamConfig(vad_mode=int(text))


def with_settings(src: Path, dst: Path, settings: dict) -> Path:
    """A copy of the model at dst with `settings` in its metadata (ModelSpec checks them before anything is written)."""
    from export.record import read_spec, set_metadata

    spec = replace(read_spec(src), **settings)
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(src, dst)
    set_metadata(dst, spec)
    return dst


def stream_cpu(paths: list, root: Path, options: StreamConfig = None) -> dict:
    """CPU seconds per audio hour of the pipeline over each fold's part of the false-accept stream."""
    from benchmarks.wakeword import score_series
    from benchmarks.wakeword_data import read_audio
    from edge.model import Model
    from export.wakeword import heldout_paths

    cpu = hours = 0.0
    for k, path in enumerate(paths):
        model = Model(str(path))
        label = model.labels[1 - model.labels.index("_background_")]
        audio = np.concatenate([read_audio(p) for p in heldout_paths(root, k, len(paths))])
        c0 = time.process_time()
        score_series(model, audio, label, options)
        cpu += time.process_time() - c0
        hours += len(audio) / 16000 / 3600
    return {"stream_hours": round(hours, 4), "cpu_s_per_audio_hour": round(cpu / hours, 1)}


def main(argv=None) -> dict:
    from benchmarks.wakeword import distinct_figures, distinct_table, measure
    from benchmarks.wakeword_data import recall_at
    from export.data import data_root

    ap = argparse.ArgumentParser(prog="python -m benchmarks.runtime_settings", description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", required=True, metavar="PATTERN",
                    help="the trained models, with {keyword} and {fold} (0 and 1) in the path; without {fold}, one model "
                         "per keyword on the whole stream (not cross-fitted: for a model trained on all the data, such as a shipped one)")
    ap.add_argument("--keywords", required=True, metavar="K,K", help="wake words of ../shared/data/wakewords, e.g. alexa,snowboy")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help=f"a runtime setting: {', '.join(SETTINGS)}")
    ap.add_argument("--cpu-only", action="store_true", help="time the stream pass alone, no recall")
    ap.add_argument("--vad-mode", metavar="M", help="webrtcvad aggressiveness 0-3 of the pipeline (default the runtime's, 2)")
    ap.add_argument("--data", metavar="DIR", help="data root (default: $EDGE_DATA or ../shared/data)")
    ap.add_argument("--peers", metavar="FILE",
                    help=f"the peers' figures to draw beside ours in det.png (benchmarks.peer_wakeword's peers.json; default {PEERS}, "
                         "none if it is not there)")
    ap.add_argument("--out", required=True, metavar="DIR")
    try:
        a = ap.parse_args(argv)
        settings = parse_set(a.set)
        options = parse_vad_mode(a.vad_mode)
        root = data_root(a.data)
        keywords = [k for k in a.keywords.split(",") if k]
        folds = (0, 1) if "{fold}" in a.models else (0,)
        sources = {kw: [Path(a.models.format(keyword=kw, fold=f)) for f in folds] for kw in keywords}
        missing = [str(p) for ps in sources.values() for p in ps if not p.is_file()]
        if "{keyword}" not in a.models or missing:
            raise ValueError(f"--models must name trained models with {{keyword}} (and {{fold}}); not found: {', '.join(missing[:2]) or a.models}")
        peers_path = Path(a.peers) if a.peers else PEERS
        try:  # read before the measurement, so a bad file costs nothing
            peers = json.loads(peers_path.read_text())["peers"] if a.peers or PEERS.is_file() else {}
        except (OSError, ValueError, KeyError, TypeError):
            raise ValueError(f"--peers {peers_path}: not a readable peers.json of benchmarks.peer_wakeword") from None
        out = Path(a.out)
        results = {}
        for kw, srcs in sources.items():
            paths = [with_settings(p, out / "models" / p.name, settings) for p in srcs]
            if a.cpu_only:
                results[kw] = stream_cpu(paths, root, options)
                print(f"{kw}: {results[kw]['cpu_s_per_audio_hour']} CPU s per audio hour", flush=True)
                continue
            r = measure(paths, kw, root, options=options)
            r.pop("top_false_accepts", None)
            at = [recall_at(r["curve"], fa) for fa in (1.0, 0.5)]
            r["recall_at_1_and_0.5_fa_per_hour"] = [p and p["recall"] for p in at]
            results[kw] = r
            dist = distinct_figures(r)
            print(f"{kw}: recall {at[0] and at[0]['recall']} / {at[1] and at[1]['recall']} at <= 1 / 0.5 FA/h, "
                  f"at its threshold {r['default']['threshold']}: {r['default']['recall']} at {r['default']['fa_per_hour']} FA/h, "
                  f"CPU {r['cpu_s_per_audio_hour']} s/h; every recording once ({dist['recordings']} of {dist['clips']} clips): "
                  f"{' / '.join(str(x) for x in dist['recall_at_1_and_0.5_fa_per_hour'])}, at its threshold {dist['default']['recall']}",
                  flush=True)
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2)
    record = {"command": " ".join(sys.argv), "models": a.models, "cross_fitted": len(folds) == 2, "settings": settings,
              "vad_mode": (options or StreamConfig()).vad_mode, "cpu_only": a.cpu_only, "results": results}
    (out / "results.json").write_text(json.dumps(record, indent=1, default=float))
    lines = [f"# Runtime settings {settings or '(as trained)'}" + (f", VAD mode {options.vad_mode}" if options else ""), "", f"Models: `{a.models}`"
             + ("" if len(folds) == 2 else " (one model on the whole stream: not cross-fitted)"), ""]
    if a.cpu_only:
        lines += ["| wake word | CPU s / audio h |", "|---|---:|"] + [f"| {kw} | {r['cpu_s_per_audio_hour']} |" for kw, r in results.items()]
    else:
        lines += ["| wake word | recall ≤ 1 FA/h | recall ≤ 0.5 FA/h | at its threshold (FA/h) | CPU s / audio h |", "|---|---:|---:|---:|---:|"]
        for kw, r in results.items():
            at, d = r["recall_at_1_and_0.5_fa_per_hour"], r["default"]
            lines.append(f"| {kw} | {at[0]} | {at[1]} | {d['recall']} at {d['threshold']} ({float(d['fa_per_hour']):.2f}) | {r['cpu_s_per_audio_hour']} |")
        lines += distinct_table(results)
    (out / "report.md").write_text("\n".join(lines) + "\n")
    if not a.cpu_only:  # misses against false accepts per hour, ours at its threshold circled, beside the peers
        from benchmarks.wakeword import plot

        plot(results, peers, out / "det.png")
    return record


if __name__ == "__main__":
    main()
