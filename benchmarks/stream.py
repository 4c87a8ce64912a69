"""Stream-level figures of the shipped commands model on real speech: real-time factor,
delay from the end of a spoken word to its event, events per word, peak memory.

    .venv/bin/python -m benchmarks.stream --out benchmarks/results/latency

The stream: every held-out keyword clip (speakers the model never trained on), each with
0.6 s of silence either side, played through the full pipeline (VAD on, 100 ms hop).
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

from edge.api import load_model
from edge.audio import SAMPLE_RATE
from edge.pipeline import StreamConfig, StreamingPipeline
from export.data import DataError, data_root, fold_of, load_clips, speech_commands

GAP_S = 0.6
BLOCK = 1600  # 100 ms blocks, as a microphone would deliver
MATCH_S = 1.5  # an event counts for a word if it ends within this long after the word ends
SPEECH_FLOOR_DB = -35.0  # a word ends at the last sample within this of the clip's peak


def word_end(x: np.ndarray) -> float:
    env = np.abs(x)
    loud = np.nonzero(env > env.max() * 10 ** (SPEECH_FLOOR_DB / 20))[0]
    return (loud[-1] + 1) / SAMPLE_RATE if len(loud) else len(x) / SAMPLE_RATE


def build_stream(root: Path, record: dict):
    cfg = record["train_config"]
    clips = [c for c in speech_commands(root) if fold_of(c.group, cfg["n_folds"]) == cfg["holdout_fold"]
             and c.label not in ("_silence_", "_unknown_")]
    audio = load_clips(clips)
    gap = np.zeros(int(GAP_S * SAMPLE_RATE), np.float32)
    parts, words, t = [], [], 0.0
    for c, x in zip(clips, audio):
        parts += [gap, x, gap]
        words.append((c.label, t + GAP_S + word_end(x)))
        t += 2 * GAP_S + len(x) / SAMPLE_RATE
    return np.concatenate(parts), words


def measure(model_name: str, root: Path) -> dict:
    model = load_model(model_name)
    StreamingPipeline(model, StreamConfig(vad=False)).process(np.zeros(SAMPLE_RATE, np.float32))  # warm up
    rss_runtime = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before the test audio is loaded
    record = json.loads(model.path.with_suffix(".json").read_text())
    audio, words = build_stream(root, record)
    p = StreamingPipeline(model, StreamConfig())
    events, cpu0, wall0 = [], time.process_time(), time.perf_counter()
    for i in range(0, len(audio), BLOCK):
        events += p.process(audio[i:i + BLOCK])
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    duration = len(audio) / SAMPLE_RATE
    delays, hits, used = [], 0, set()
    for label, end in words:
        match = [k for k, e in enumerate(events) if k not in used and end - 0.5 <= e.end <= end + MATCH_S]
        if match:
            used.add(match[0])
            delays.append(events[match[0]].end - end)
            hits += events[match[0]].label == label
    return {
        "model": model_name, "model_bytes": model.path.stat().st_size, "audio_seconds": round(duration, 1),
        "words": len(words), "events": len(events), "correct_events": hits,
        "words_with_an_event": len(delays), "extra_events": len(events) - len(delays),
        "real_time_factor_cpu": round(cpu / duration, 5), "real_time_factor_wall": round(wall / duration, 5),
        "cpu_seconds_per_audio_hour": round(cpu / duration * 3600, 1),
        "hops_scored": p.hops_scored, "hops_total": p.frames // p.config.hop_frames,
        "delay_s": {"median": round(float(np.median(delays)), 3), "p90": round(float(np.percentile(delays, 90)), 3),
                    "min": round(float(np.min(delays)), 3), "max": round(float(np.max(delays)), 3)} if delays else None,
        "rss_mb_runtime_loaded": round(rss_runtime, 1),
        "peak_rss_mb_with_test_audio": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "threads": 1,
    }


def report(r: dict) -> str:
    d = r["delay_s"] or {}
    return "\n".join([
        f"# Streaming figures: `{r['model']}` ({r['model_bytes']:,} bytes)", "",
        "| figure | value |", "|---|---|",
        f"| audio streamed | {r['audio_seconds']} s, {r['words']} held-out words |",
        f"| real-time factor (CPU time / audio time, 1 thread) | {r['real_time_factor_cpu']} |",
        f"| CPU seconds per hour of audio | {r['cpu_seconds_per_audio_hour']} |",
        f"| hops the model ran on (the VAD open; for a wake word, not idle) | {r['hops_scored']} of {r['hops_total']} |",
        f"| words with an event / correct label | {r['words_with_an_event']} / {r['correct_events']} |",
        f"| events with no word | {r['extra_events']} |",
        f"| delay from word end to event: median / p90 / max | {d.get('median')} / {d.get('p90')} / {d.get('max')} s |",
        f"| memory (RSS) with runtime and model loaded, after one window | {r['rss_mb_runtime_loaded']} MB |",
        f"| peak memory (RSS) with the whole test stream in memory | {r['peak_rss_mb_with_test_audio']} MB |", ""])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", help="data folder (default ../shared/data)")
    ap.add_argument("--model", default="commands")
    ap.add_argument("--out", default="benchmarks/results/latency")
    a = ap.parse_args(argv)
    try:
        root = data_root(a.data)
    except DataError as e:
        print(f"stream: error: {e}", file=sys.stderr)
        return 2
    r = measure(a.model, root)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "stream.json").write_text(json.dumps(r, indent=2) + "\n")
    (out / "stream.md").write_text(report(r))
    print(report(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
