"""CPU of several models listening to one stream at once (edge.pipeline.MultiPipeline) against
each alone: process time on one thread per hour of audio, the whole pipeline, over the first
minutes of the false-accept stream of benchmarks.wakeword (dev Speech Commands, EmoDB, noise).

    .venv/bin/python -m benchmarks.models_together --models alexa,commands --out benchmarks/results/latency/together

Each arm runs `--runs` times, the arms in turn, so that a slow spell of the machine falls on all
of them. Writes results.json and report.md into OUT.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from benchmarks.wakeword_data import negative_stream  # noqa: E402
from edge.api import load_model, pipeline  # noqa: E402
from edge.audio import SAMPLE_RATE  # noqa: E402
from edge.model import ModelError  # noqa: E402
from export.data import DataError, data_root  # noqa: E402

BLOCK = 1600  # 100 ms blocks, as a microphone delivers


def cpu_per_audio_hour(models: list, audio) -> tuple:
    """(CPU s per audio hour, events) of the pipeline of `models` over `audio`."""
    p = pipeline(models)
    t, events = time.process_time(), 0
    for i in range(0, len(audio), BLOCK):
        events += len(p.process(audio[i:i + BLOCK]))
    events += len(p.flush())
    return (time.process_time() - t) / (len(audio) / SAMPLE_RATE / 3600), events


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.models_together", description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="alexa,commands", help="comma-separated shipped names or .onnx paths (default %(default)s)")
    ap.add_argument("--minutes", type=float, default=15.0, help="minutes of the stream (default %(default)s)")
    ap.add_argument("--runs", type=int, default=2, help="runs of each arm (default %(default)s)")
    ap.add_argument("--data", help="data root (default: $EDGE_DATA or ../shared/data)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    try:
        models = [m for m in a.models.split(",") if m]
        if len(models) < 2 or a.minutes <= 0 or a.runs < 1:
            raise ValueError("--models wants two or more models, --minutes and --runs positive numbers")
        for m in models:
            load_model(m)
        audio = negative_stream(data_root(a.data))[: int(a.minutes * 60 * SAMPLE_RATE)]
    except (ValueError, ModelError, DataError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    arms = [[m] for m in models] + [models]
    runs = {"+".join(arm): [] for arm in arms}
    for _ in range(a.runs):
        for arm in arms:
            cpu, events = cpu_per_audio_hour(arm, audio)
            runs["+".join(arm)].append({"cpu_s_per_audio_hour": round(cpu, 2), "events": events})
            print(f"{'+'.join(arm)}: {cpu:.1f} CPU s per audio hour, {events} events", flush=True)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"command": " ".join(sys.argv), "minutes": a.minutes, "runs": runs}, indent=1))
    lines = [f"# Models together: CPU s per audio hour ({a.minutes:g} min of the false-accept stream, one thread)", "",
             "| models | runs | events |", "|---|---|---:|"]
    lines += [f"| {k} | {', '.join(str(r['cpu_s_per_audio_hour']) for r in v)} | {v[0]['events']} |" for k, v in runs.items()]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out}/results.json, report.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
