"""Smaller Hugging Face audio classifiers: keep the first N transformer layers, optionally
fine-tune briefly on labelled real audio, save a new checkpoint folder.

    checkpoint -> load (safetensors only) -> keep_layers(N) -> [finetune] -> save_pretrained
    -> record (model.json beside the weights)

Dropping the top layers of wav2vec2/HuBERT costs accuracy; a short fine-tune of the remaining
layers and head on the target data recovers much of it (measured in benchmarks/w2v2_tradeoff.py).
Head pruning is not offered: transformers implements ``prune_heads`` for neither wav2vec2 nor HuBERT.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from edge.audio import SAMPLE_RATE


@dataclass(frozen=True)
class FinetuneConfig:
    """epochs over the clips; lr (AdamW) and weight_decay; batch windows per step; seed fixes
    order and augmentation. freeze_feature_encoder: train only the transformer and head (the
    usual recipe; the conv feature encoder is the costly part to update). shift_s: random time
    shift either way, noise_db: (min, max) SNR of white noise added to half the windows."""

    epochs: int = 2
    lr: float = 1e-4
    weight_decay: float = 0.01
    batch: int = 16
    seed: int = 0
    freeze_feature_encoder: bool = True
    shift_s: float = 0.1
    noise_db: tuple = (10.0, 40.0)

    def __post_init__(self):
        if self.epochs < 1 or self.batch < 1:
            raise ValueError(f"epochs and batch must be >= 1, got epochs={self.epochs} batch={self.batch}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        object.__setattr__(self, "noise_db", tuple(self.noise_db))


def keep_layers(model, n: int) -> int:
    """Cut the transformer of a loaded audio classifier to its first n layers; returns the old count."""
    import torch

    encoder = getattr(model.base_model, "encoder", None)
    layers = getattr(encoder, "layers", None)
    if layers is None:
        raise ValueError(f"{type(model).__name__}: no encoder.layers to cut")
    total = len(layers)
    if not 1 <= n <= total:
        raise ValueError(f"--keep-layers must be between 1 and {total} (the model has {total} layers), got {n}")
    encoder.layers = torch.nn.ModuleList(list(layers)[:n])
    model.config.num_hidden_layers = n
    if getattr(model.config, "use_weighted_layer_sum", False):  # one weight per hidden state: embeddings + n layers
        model.layer_weights = torch.nn.Parameter(model.layer_weights.data[:n + 1].clone())
    return total


def _batches(audio: np.ndarray, targets: np.ndarray, cfg: FinetuneConfig, rng: np.random.Generator, normalize: bool):
    """Shuffled, augmented (time shift, white noise) and normalised training batches for one epoch."""
    from .hf import normalize_windows

    order = rng.permutation(len(audio))
    max_shift = int(cfg.shift_s * SAMPLE_RATE)
    for i in range(0, len(order), cfg.batch):
        idx = order[i:i + cfg.batch]
        x = np.stack([np.roll(audio[j], rng.integers(-max_shift, max_shift + 1)) for j in idx])
        noisy = rng.random(len(idx)) < 0.5
        snr = 10 ** (rng.uniform(*cfg.noise_db, len(idx)) / 20)
        level = np.sqrt(np.mean(x ** 2, axis=1) + 1e-8) / snr
        x = x + noisy[:, None] * level[:, None] * rng.standard_normal(x.shape).astype(np.float32)
        yield normalize_windows(x, normalize), targets[idx]


def finetune(model, audio: np.ndarray, labels: list, cfg: FinetuneConfig, normalize: bool = True, progress: bool = True) -> list:
    """Train `model` in place on windows audio [n, samples] with string labels; returns per-epoch loss."""
    import torch
    from tqdm import tqdm

    label2id = {str(k): int(v) for k, v in model.config.label2id.items()}
    unknown = sorted(set(labels) - set(label2id))
    if unknown:
        raise ValueError(f"fine-tune data has labels the model lacks: {unknown[:10]} (model labels: {sorted(label2id)})")
    targets = np.array([label2id[x] for x in labels])
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    if cfg.freeze_feature_encoder:
        model.freeze_feature_encoder()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = cfg.epochs * -(-len(audio) // cfg.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=steps, pct_start=0.1)
    history = []
    model.train()
    with tqdm(total=steps, desc="fine-tune", unit="batch", disable=not progress) as bar:
        for epoch in range(cfg.epochs):
            losses = []
            for x, y in _batches(audio, targets, cfg, rng, normalize):
                loss = model(torch.from_numpy(x), labels=torch.from_numpy(y)).loss
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                opt.step()
                sched.step()
                losses.append(loss.item())
                bar.update()
                bar.set_postfix(epoch=epoch + 1, loss=f"{np.mean(losses):.3f}")
            history.append({"epoch": epoch + 1, "loss": round(float(np.mean(losses)), 4)})
    model.eval()
    return history


def weights_file(folder: Path) -> Path:
    for name in ("model.safetensors", "model.safetensors.index.json"):
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"{folder}: save_pretrained wrote no safetensors weights")


def prune(checkpoint, out_dir, n_layers: int, finetune_clips=None, ft: FinetuneConfig = FinetuneConfig(),
          overwrite: bool = False, progress: bool = True) -> dict:
    """Keep the first n_layers of a checkpoint, optionally fine-tune on labelled clips, save to out_dir."""
    from transformers import AutoFeatureExtractor

    from .data import load_clips
    from .hf import inspect, load_torch
    from .record import check_writable, sha256, write_record

    ck = inspect(checkpoint)
    out_dir = Path(out_dir)
    check_writable(out_dir, overwrite=overwrite)
    model = load_torch(ck.path)
    total = keep_layers(model, n_layers)
    steps = [{"step": "keep_layers", "kept": n_layers, "of": total}]
    if finetune_clips:
        t0 = time.time()
        audio = load_clips(finetune_clips, SAMPLE_RATE)
        history = finetune(model, audio, [c.label for c in finetune_clips], ft, ck.normalize, progress)
        steps.append({"step": "finetune", "clips": len(finetune_clips), "config": asdict(ft), "history": history,
                      "seconds": round(time.time() - t0, 1)})
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out_dir), safe_serialization=True)
    AutoFeatureExtractor.from_pretrained(str(ck.path), local_files_only=True).save_pretrained(str(out_dir))
    record = {"what": f"{ck.architecture} cut to {n_layers} of {total} transformer layers"
                      + (", fine-tuned" if finetune_clips else ""),
              "source": {"checkpoint": str(ck.path.resolve()), "sha256": sha256(ck.path)},
              "parameters": int(sum(p.numel() for p in model.parameters())), "steps": steps}
    write_record(weights_file(out_dir), record)
    return record
