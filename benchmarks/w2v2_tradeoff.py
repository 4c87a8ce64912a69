"""Size against held-out accuracy for a wav2vec2-architecture keyword classifier taken through
the export stage, plus sizes and latencies of a base-size wav2vec2 (random weights).

    python benchmarks/w2v2_tradeoff.py [--data ../shared/data] [--out benchmarks/results/w2v2]

1. Train a small Wav2Vec2ForSequenceClassification (SMALL below, from scratch: no hub downloads
   here) on the Speech Commands dev clips with one speaker-disjoint fold held out
   (fold_of(group, 5) == 0), on one thread, about ten minutes.
2. Export it (edge-export's library calls): float32, float16, INT8 dynamic, INT8 static
   (calibrated on training clips), and the first N of its layers with and without a short
   fine-tune on the training clips, each measured on the held-out speakers with the runtime.
3. A base-size config (12 layers, hidden 768): bytes and latency per 1-s window for
   12 -> 6 layers and float32 -> INT8; accuracy means nothing for random weights.

Models go to --work (default runs/w2v2_tradeoff, ignored by git); results.json and
results.md to --out.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from dataclasses import asdict, replace
from pathlib import Path

os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import numpy as np  # noqa: E402

from export.data import COMMAND_LABELS, data_root, fold_of, speech_commands  # noqa: E402
from export.prune import FinetuneConfig  # noqa: E402

N_FOLDS, HELDOUT_FOLD = 5, 0
THREADS = 1  # training and inference threads: the 2-core machine is shared
# Pre-LN (do_stable_layer_norm) takes a 2x higher learning rate than post-LN and learned fastest in
# 4-epoch pilots (31% vs 23-27% held-out); dropout and SpecAugment only slow a ten-minute run down.
SMALL = dict(hidden_size=96, num_hidden_layers=4, num_attention_heads=4, intermediate_size=192, classifier_proj_size=96,
             conv_dim=(64,) * 7, num_conv_pos_embeddings=32, num_conv_pos_embedding_groups=4, do_stable_layer_norm=True,
             apply_spec_augment=False, layerdrop=0.0, hidden_dropout=0.0, attention_dropout=0.0, activation_dropout=0.0,
             final_dropout=0.0)
BASE = dict(num_hidden_layers=12, hidden_size=768)  # Wav2Vec2Config defaults otherwise (wav2vec2-base shape)
TRAIN = FinetuneConfig(epochs=12, lr=4e-3, batch=32, freeze_feature_encoder=False, shift_s=0.1, noise_db=(5.0, 40.0))
FINETUNE = FinetuneConfig(epochs=3, lr=1e-3, batch=32, freeze_feature_encoder=True, shift_s=0.1, noise_db=(5.0, 40.0))
KEEP = (2, 1)  # layers kept of the small model's 4
BASE_KEEP = 6  # layers kept of the base model's 12
CALIBRATION_PER_LABEL = 20  # training clips per label for static INT8
SMALL_LATENCY_ROUNDS = 100  # timed windows per model, interleaved
BASE_LATENCY_ROUNDS = 20


def labelled(cfg_kwargs: dict):
    from transformers import Wav2Vec2Config

    labels = dict(enumerate(COMMAND_LABELS))
    return Wav2Vec2Config(**cfg_kwargs, num_labels=len(labels), id2label=labels, label2id={v: k for k, v in labels.items()})


def save_checkpoint(model, folder: Path) -> Path:
    from transformers import Wav2Vec2FeatureExtractor

    model.save_pretrained(str(folder))
    Wav2Vec2FeatureExtractor(sampling_rate=16_000, do_normalize=True).save_pretrained(str(folder))
    return folder


def train_small(folder: Path, train, cfg: FinetuneConfig, log) -> dict:
    """Train SMALL from scratch on the training clips (prune.finetune with nothing frozen)."""
    import torch
    from transformers import Wav2Vec2ForSequenceClassification

    from export.data import load_clips
    from export.prune import finetune

    torch.manual_seed(cfg.seed)
    model = Wav2Vec2ForSequenceClassification(labelled(SMALL))
    t0 = time.time()
    history = finetune(model, load_clips(train), [c.label for c in train], cfg, normalize=True)
    save_checkpoint(model, folder)
    info = {"config": asdict(cfg), "seconds": round(time.time() - t0, 1), "history": history, "parameters": sum(p.numel() for p in model.parameters())}
    (folder / "train.json").write_text(json.dumps(info, indent=2))
    log(f"trained {folder} in {info['seconds']} s, final loss {history[-1]['loss']}")
    return info


def calibration_folder(work: Path, train) -> Path:
    """Symlinks to a few training clips per label: the static INT8 calibration set."""
    folder = work / "calibration"
    for lab in COMMAND_LABELS:
        (folder / lab).mkdir(parents=True, exist_ok=True)
        for c in [c for c in train if c.label == lab][:CALIBRATION_PER_LABEL]:
            link = folder / lab / c.path.name
            if not link.exists():
                link.symlink_to(c.path)
    return folder


def measure(name: str, path: Path, held, audio, source: Path = None, **facts) -> dict:
    from export.evaluate import evaluate

    f = evaluate(path, held, source_path=source, audio=audio)
    row = {"variant": name, **facts, "bytes": f["bytes"], "accuracy": f["accuracy"],
           "top1_agreement_with_source": f.get("source", {}).get("top1_agreement"), "per_class": f["per_class"],
           "model": path.name}
    print(f"{name:44s} {row['bytes'] / 1e6:7.3f} MB  acc {row['accuracy']:.4f}", flush=True)
    return row


def interleaved_latency(paths: list, rounds: int) -> dict:
    """Median ms per 1-s window (front end + model, 1 thread) of each model, timed in turn round
    after round so that load from other processes on the shared CPU falls on all of them alike."""
    from edge.model import Model

    models = {p: Model(str(p)) for p in paths}
    x = (np.random.default_rng(0).standard_normal((1, 16_000)) * 0.1).astype(np.float32)
    for m in models.values():
        m.scores(x)
    times = {p: [] for p in paths}
    for _ in range(rounds):
        for p, m in models.items():
            t = time.perf_counter()
            m.scores(x)
            times[p].append(time.perf_counter() - t)
    return {p: round(float(np.median(t)) * 1000, 3) for p, t in times.items()}


def static_variants(work: Path, fp32: Path, train, held, audio) -> list:
    """Static INT8 three ways: the default (minmax, Conv too), transformer only, percentile calibration."""
    from export.quantize import STATIC_DEFAULT_OPS, QuantizeConfig, quantize_file

    calib = calibration_folder(work, train)
    configs = {"minmax, Conv+MatMul+Gemm": QuantizeConfig(mode="static", op_types=STATIC_DEFAULT_OPS),
               "minmax, MatMul+Gemm only": QuantizeConfig(mode="static", op_types=("MatMul", "Gemm")),
               "percentile, Conv+MatMul+Gemm, per-channel": QuantizeConfig(mode="static", per_channel=True, op_types=STATIC_DEFAULT_OPS,
                                                                          calibration_method="percentile")}
    rows = []
    for i, (what, cfg) in enumerate(configs.items()):
        out = work / f"small_int8_static{i}.onnx"
        quantize_file(fp32, out, cfg, calibration_dir=calib, calibration_windows=CALIBRATION_PER_LABEL * len(COMMAND_LABELS),
                      overwrite=True)
        rows.append(measure(f"4 layers INT8 static ({what})", out, held, audio, fp32, layers=4, precision="int8 static",
                            finetuned=None, quantize=what))
    return rows


def cut_variants(work: Path, ck: Path, train, held, audio, fp32: Path) -> list:
    """First-n-layer cuts with and without a short fine-tune; all layers + the same fine-tune as control."""
    from export.hf import convert
    from export.prune import prune
    from export.quantize import QuantizeConfig, quantize_file

    rows = []
    for n, tuned in [(SMALL["num_hidden_layers"], True)] + [(n, t) for n in KEEP for t in (False, True)]:
        tag = f"{n}L_{'ft' if tuned else 'cut'}"
        prune(ck, work / tag, n, finetune_clips=train if tuned else None, ft=FINETUNE, overwrite=True)
        convert(work / tag, work / f"{tag}.onnx", overwrite=True)
        what = f"{n} layers" + (" + fine-tune" if tuned else " (cut only)")
        if n == SMALL["num_hidden_layers"]:
            what += " (control: same extra training, no cut)"
        rows.append(measure(f"{what} fp32", work / f"{tag}.onnx", held, audio, fp32, layers=n, precision="fp32", finetuned=tuned))
        quantize_file(work / f"{tag}.onnx", work / f"{tag}_int8.onnx", QuantizeConfig(mode="dynamic"), overwrite=True)
        rows.append(measure(f"{what} INT8 dynamic", work / f"{tag}_int8.onnx", held, audio, fp32, layers=n,
                            precision="int8 dynamic", finetuned=tuned))
    return rows


def small_variants(work: Path, ck: Path, train, held) -> list:
    """Every export of the trained small model, measured on the held-out clips."""
    from edge.model import Model
    from export.evaluate import prepare
    from export.hf import convert
    from export.quantize import QuantizeConfig, quantize_file

    fp32, fp16, dyn = work / "small_fp32.onnx", work / "small_fp16.onnx", work / "small_int8_dynamic.onnx"
    convert(ck, fp32, overwrite=True)
    audio = prepare(Model(str(fp32)), held)
    rows = [measure("4 layers fp32", fp32, held, audio, layers=4, precision="fp32", finetuned=None)]
    convert(ck, fp16, fp16=True, overwrite=True)
    rows.append(measure("4 layers fp16", fp16, held, audio, fp32, layers=4, precision="fp16", finetuned=None))
    quantize_file(fp32, dyn, QuantizeConfig(mode="dynamic"), overwrite=True)
    rows.append(measure("4 layers INT8 dynamic", dyn, held, audio, fp32, layers=4, precision="int8 dynamic", finetuned=None))
    rows += static_variants(work, fp32, train, held, audio)
    rows += cut_variants(work, ck, train, held, audio, fp32)
    latency = interleaved_latency([work / r["model"] for r in rows], SMALL_LATENCY_ROUNDS)
    for r in rows:
        r["latency_ms_per_window"] = latency[work / r["model"]]
    return rows


def base_variants(work: Path) -> list:
    """Bytes and latency of a base-size wav2vec2 classifier, 12 and 6 layers, fp32 and INT8 dynamic."""
    import torch
    from transformers import Wav2Vec2ForSequenceClassification

    from export.hf import convert
    from export.prune import prune
    from export.quantize import QuantizeConfig, quantize_file

    torch.manual_seed(0)
    ck = save_checkpoint(Wav2Vec2ForSequenceClassification(labelled(BASE)).eval(), work / "base12")
    prune(ck, work / f"base{BASE_KEEP}", BASE_KEEP, overwrite=True)
    rows = []
    for n, folder in ((12, ck), (BASE_KEEP, work / f"base{BASE_KEEP}")):
        fp32, int8 = work / f"base{n}_fp32.onnx", work / f"base{n}_int8.onnx"
        convert(folder, fp32, overwrite=True)
        quantize_file(fp32, int8, QuantizeConfig(mode="dynamic"), overwrite=True)
        rows += [{"variant": f"base {n} layers {precision}", "layers": n, "precision": precision,
                  "bytes": path.stat().st_size, "model": path.name} for precision, path in (("fp32", fp32), ("int8 dynamic", int8))]
    latency = interleaved_latency([work / r["model"] for r in rows], BASE_LATENCY_ROUNDS)
    for r in rows:
        r["latency_ms_per_window"] = latency[work / r["model"]]
        print(f"{r['variant']:44s} {r['bytes'] / 1e6:7.1f} MB  {r['latency_ms_per_window']:8.1f} ms", flush=True)
    return rows


def markdown(result: dict) -> str:
    ref = result["small"][0]["accuracy"]
    n_held = result["data"]["held_out"]
    se = (ref * (1 - ref) / n_held) ** 0.5
    lines = ["# wav2vec2 architecture: size vs held-out accuracy", "",
             f"Small Wav2Vec2ForSequenceClassification ({result['small_parameters']:,} parameters; config in results.json) "
             f"trained from scratch for {result['train']['epochs']} epochs ({result['train_seconds']:.0f} s, {THREADS} thread, "
             f"shared CPU) on {result['data']['train']} Speech Commands dev clips, measured on the {n_held} clips of held-out "
             f"speakers (`fold_of(group, {N_FOLDS}) == {HELDOUT_FOLD}`); standard error of an accuracy near {ref:.2f} on "
             f"{n_held} clips is {se:.3f}. Agreement: share of held-out clips whose top-1 label equals the 4-layer fp32 "
             f"model's. Fine-tune: {result['finetune']['epochs']} epochs on the training clips, feature encoder frozen. "
             f"Latency: median ms per 1-s window (front end + model, 1 ONNX Runtime thread) over {SMALL_LATENCY_ROUNDS} "
             f"runs interleaved across models, {result['machine']}, shared with other jobs: compare rows, not machines.", "",
             "| variant | bytes | vs fp32 size | held-out accuracy | vs fp32 | top-1 agreement | ms / window |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    size0 = result["small"][0]["bytes"]
    for r in result["small"]:
        agree = "-" if r["top1_agreement_with_source"] is None else f"{r['top1_agreement_with_source']:.3f}"
        lines.append(f"| {r['variant']} | {r['bytes']:,} | {r['bytes'] / size0:.2f}x | {r['accuracy']:.4f} | "
                     f"{r['accuracy'] - ref:+.4f} | {agree} | {r['latency_ms_per_window']:.2f} |")
    if result.get("base"):
        lines += ["", "## Base-size config (12 layers, hidden 768, random weights): size and latency only", "",
                  f"Latency: median of {BASE_LATENCY_ROUNDS} interleaved runs per model.", "",
                  "| variant | bytes | vs 12-layer fp32 | ms / window |", "|---|---:|---:|---:|"]
        b0 = result["base"][0]["bytes"]
        lines += [f"| {r['variant']} | {r['bytes']:,} | {r['bytes'] / b0:.2f}x | {r['latency_ms_per_window']:.1f} |"
                  for r in result["base"]]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", help="data root (default $EDGE_DATA or ../shared/data)")
    ap.add_argument("--out", default="benchmarks/results/w2v2", help="results folder (default %(default)s)")
    ap.add_argument("--work", default="runs/w2v2_tradeoff", help="models folder (default %(default)s)")
    ap.add_argument("--reuse", action="store_true", help="reuse a trained small checkpoint in --work")
    ap.add_argument("--epochs", type=int, default=TRAIN.epochs, help="training epochs (default %(default)s)")
    ap.add_argument("--skip-base", action="store_true", help="leave out the base-size config")
    a = ap.parse_args(argv)
    import torch

    torch.set_num_threads(THREADS)
    work, out = Path(a.work), Path(a.out)
    work.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    clips = speech_commands(data_root(a.data))
    held = [c for c in clips if fold_of(c.group, N_FOLDS) == HELDOUT_FOLD]
    train = [c for c in clips if fold_of(c.group, N_FOLDS) != HELDOUT_FOLD]
    ck = work / "small4"
    cfg = replace(TRAIN, epochs=a.epochs)
    reuse = a.reuse and (ck / "train.json").is_file()
    info = json.loads((ck / "train.json").read_text()) if reuse else train_small(ck, train, cfg, print)
    result = {"data": {"root": str(data_root(a.data)), "train": len(train), "held_out": len(held),
                       "split": f"fold_of(group, {N_FOLDS}) == {HELDOUT_FOLD} held out (speaker-disjoint)"},
              "small_config": SMALL, "small_parameters": info["parameters"], "train": info["config"],
              "train_seconds": info["seconds"], "train_history": info["history"], "finetune": asdict(FINETUNE),
              "machine": f"{platform.machine()} {platform.processor() or ''}".strip() + f", {os.cpu_count()} cores",
              "small": small_variants(work, ck, train, held)}
    if not a.skip_base:
        result["base"] = base_variants(work)
    (out / "results.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "results.md").write_text(markdown(result))
    print(f"wrote {out / 'results.json'} and {out / 'results.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
