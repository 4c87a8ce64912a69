"""What the exact int8 fallback costs: each shipped model run with ONNX Runtime's fused u8s8
kernels and with the fallback the runtime picks on x86 CPUs without VNNI
(``session.disable_quant_qdq``: dequantize -> float op -> quantize), timed in turns in one
process so that a busy or throttled CPU weighs on both alike.

    .venv/bin/python -m benchmarks.int8_fallback --out benchmarks/results/latency

On an AVX2-only CPU the fused kernels give wrong scores (see edge/model.py): their times here
are what the fallback is weighed against, not a setting to use.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

import edge.model as edge_model
from edge.model import Model, ModelError

ROUNDS, CALLS = 60, 10


def cpu() -> dict:
    try:
        text = edge_model.CPUINFO.read_text()
    except OSError:
        text = ""
    name = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")), platform.processor())
    flags = set(next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), []))
    return {"model": name, "avx2": "avx2" in flags, "vnni": any("vnni" in f for f in flags),
            "fallback_chosen": edge_model._int8_may_saturate()}


def sessions(name: str) -> dict:
    """The two arms. Model, not edge.api.load_model: that keeps one model per name, and the two would be one."""
    return {"fused": Model(name, exact_int8=False), "fallback": Model(name, exact_int8=True)}


def time_model(name: str) -> dict:
    arms = sessions(name)
    n = arms["fused"].spec.window_samples
    window = (np.random.default_rng(0).standard_normal(n) * 0.05).astype(np.float32)[None]
    feats = {k: m.features(window) for k, m in arms.items()}
    times = {k: [] for k in arms}
    for _ in range(ROUNDS):
        for k, m in arms.items():
            start = time.perf_counter()
            for _ in range(CALLS):
                m.scores_of_features(feats[k])
            times[k].append((time.perf_counter() - start) / CALLS * 1e6)
    med = {k: float(np.median(v)) for k, v in times.items()}
    return {"window_samples": n, "median_us": med, "ratio": med["fallback"] / med["fused"],
            "rounds": ROUNDS, "calls_per_round": CALLS}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/latency"))
    ap.add_argument("--models", default=",".join(edge_model.shipped_models()))
    a = ap.parse_args(argv)
    result = {"cpu": cpu(), "models": {}}
    for name in a.models.split(","):
        try:
            result["models"][name] = time_model(name)
        except ModelError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        print(name, {k: round(v) for k, v in result["models"][name]["median_us"].items()}, flush=True)
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "int8_fallback.json").write_text(json.dumps(result, indent=1))
    c = result["cpu"]
    lines = [f"# Exact int8 fallback against the fused u8s8 kernels ({c['model']}; AVX2 {c['avx2']}, VNNI {c['vnni']}; "
             f"the runtime {'picks' if c['fallback_chosen'] else 'does not pick'} the fallback here)", "",
             f"Model call on one window, one thread, median of {ROUNDS} rounds of {CALLS} calls, the two arms in turns.", "",
             "| model | window | fused µs | fallback µs | fallback / fused |", "|---|---:|---:|---:|---:|"]
    for name, r in result["models"].items():
        lines.append(f"| {name} | {r['window_samples'] / 16000:.1f} s | {r['median_us']['fused']:.0f} | "
                     f"{r['median_us']['fallback']:.0f} | {r['ratio']:.2f} |")
    (a.out / "int8_fallback.md").write_text("\n".join(lines) + "\n")
    print((a.out / "int8_fallback.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
