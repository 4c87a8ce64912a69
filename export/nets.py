"""Small keyword networks on log-mel input [batch, n_mels, frames], and SpecAugment."""
from __future__ import annotations

import torch
from torch import nn


def spec_augment(x: torch.Tensor, gen: torch.Generator, freq_masks=2, freq_width=6, time_masks=2, time_width=12) -> torch.Tensor:
    """Mask random mel bands and frames with the per-example mean (SpecAugment, Park et al. 2019)."""
    squeeze = x.dim() == 3
    x = x.unsqueeze(1) if squeeze else x.clone()
    b, _, n_mels, n_frames = x.shape
    fill = x.mean(dim=(1, 2, 3), keepdim=True)
    for size, width, axis in ((n_mels, freq_width, 2), (n_frames, time_width, 3)):
        for _ in range(freq_masks if axis == 2 else time_masks):
            w = torch.randint(0, width + 1, (b,), generator=gen)
            start = (torch.rand(b, generator=gen) * (size - w)).long()
            idx = torch.arange(size)
            mask = (idx[None] >= start[:, None]) & (idx[None] < (start + w)[:, None])
            shape = (b, 1, size, 1) if axis == 2 else (b, 1, 1, size)
            x = torch.where(mask.view(shape), fill, x)
    return x.squeeze(1) if squeeze else x


class _TCBlock(nn.Module):
    def __init__(self, cin: int, cout: int, kernel: int, stride: int):
        super().__init__()
        pad = kernel // 2
        self.conv1 = nn.Sequential(nn.Conv1d(cin, cout, kernel, stride, pad, bias=False), nn.BatchNorm1d(cout), nn.ReLU())
        self.conv2 = nn.Sequential(nn.Conv1d(cout, cout, kernel, 1, pad, bias=False), nn.BatchNorm1d(cout))
        self.skip = (nn.Sequential(nn.Conv1d(cin, cout, 1, stride, bias=False), nn.BatchNorm1d(cout))
                     if (cin, stride) != (cout, 1) else nn.Identity())

    def forward(self, x):
        return torch.relu(self.conv2(self.conv1(x)) + self.skip(x))


class TCResNet(nn.Module):
    """Temporal-convolution ResNet (Choi et al., "Temporal Convolution for Real-time Keyword
    Spotting on Mobile Devices", 2019): mel bands are channels, convolutions run over time
    only, which is cheap on a CPU. Input [batch, n_mels, frames]; an input BatchNorm learns
    the feature scale. shape_norm: each window's mean log-mel spectrum (each band's mean over
    the frames) is taken out but for its mean over the bands, so a fixed colouring of the sound
    (a microphone's or a room's response, a cepstral mean in log-mel terms) is removed and the
    loudness kept; it is part of the graph, so the runtime needs nothing new."""

    def __init__(self, n_classes: int, n_mels: int = 40, channels=(16, 24, 32, 48), kernel: int = 9, dropout: float = 0.1,
                 shape_norm: bool = False):
        super().__init__()
        self.shape_norm = shape_norm
        self.norm = nn.BatchNorm1d(n_mels)
        self.stem = nn.Sequential(nn.Conv1d(n_mels, channels[0], 3, 1, 1, bias=False), nn.BatchNorm1d(channels[0]), nn.ReLU())
        self.blocks = nn.Sequential(*[_TCBlock(a, b, kernel, 2) for a, b in zip(channels[:-1], channels[1:])])
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(channels[-1], n_classes)

    def frames(self, x: torch.Tensor) -> torch.Tensor:
        """The last block's features before pooling, [batch, channels, frames / 8]."""
        if self.shape_norm:
            m = x.mean(-1, keepdim=True)
            x = x - (m - m.mean(1, keepdim=True))
        return self.blocks(self.stem(self.norm(x)))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The pooled features the head reads (what an auxiliary head can share)."""
        return self.drop(self.frames(x).mean(-1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))


def _dct_basis(n_mels: int, n_coeffs: int) -> torch.Tensor:
    """DCT-II of tf.signal.mfccs_from_log_mel_spectrograms (unnormalised, / sqrt(2 n_mels)): [n_mels, n_coeffs]."""
    n, k = torch.arange(n_mels, dtype=torch.float64)[:, None], torch.arange(n_coeffs, dtype=torch.float64)[None]
    return (2.0 * torch.cos(torch.pi * k * (2 * n + 1) / (2 * n_mels)) / (2.0 * n_mels) ** 0.5).float()


class DSCNN(nn.Module):
    """The depthwise-separable CNN of MLPerf Tiny's keyword reference (Zhang et al., "Hello Edge",
    2017): MFCCs over (time, coefficient) -> conv 10x4 stride 2 -> 4 x (depthwise 3x3, pointwise
    1x1) -> mean -> linear. Its input here is our log-mel [batch, n_mels, frames] at the
    reference's analysis (export/pretrained.py: magnitude, 30 ms windows every 20 ms, 20-4000 Hz),
    turned into what the reference reads: the window's loudest band is set to LEVEL (the reference
    divides each clip by its peak sample instead) and the DCT keeps 10 coefficients. Layout and
    padding are the TFLite model's (TF "same": the extra row at the end), so its weights load
    unchanged (export/pretrained.py)."""

    LEVEL = 4.092  # mean of (the reference's log-mel) - (ours - its window max) on the Speech Commands dev clips

    def __init__(self, n_classes: int = 12, n_mels: int = 40, channels: int = 64, n_coeffs: int = 10):
        super().__init__()
        self.register_buffer("dct", _dct_basis(n_mels, n_coeffs))
        self.conv0 = nn.Conv2d(1, channels, (10, 4), (2, 2))
        self.dw = nn.ModuleList([nn.Conv2d(channels, channels, 3, 1, 1, groups=channels) for _ in range(4)])
        self.pw = nn.ModuleList([nn.Conv2d(channels, channels, 1) for _ in range(4)])
        self.head = nn.Linear(channels, n_classes)

    def mfcc(self, x: torch.Tensor) -> torch.Tensor:
        x = x - x.amax(dim=(1, 2), keepdim=True) + self.LEVEL
        return x.transpose(1, 2) @ self.dct  # [batch, frames, coeffs]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.pad(self.mfcc(x).unsqueeze(1), (1, 1, 4, 5))
        x = torch.relu(self.conv0(x))
        for dw, pw in zip(self.dw, self.pw):
            x = torch.relu(pw(torch.relu(dw(x))))
        return self.head(x.mean((2, 3)))


class LogProbMean(nn.Module):
    """Models as one: the weighted mean of their log-probabilities (a normalised geometric mean
    of their probabilities once the runtime applies softmax). ``forward(x)`` gives every model
    the same input, ``forward(x1, x2, ...)`` each model its own."""

    def __init__(self, models, weights):
        super().__init__()
        if len(models) != len(weights) or not models or abs(sum(weights) - 1.0) > 1e-6:
            raise ValueError(f"need one weight per model, summing to 1; got {list(weights)}")
        self.models = nn.ModuleList(models)
        self.weights = [float(w) for w in weights]

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        if len(xs) not in (1, len(self.models)):
            raise ValueError(f"give one input for all {len(self.models)} models or one each, got {len(xs)}")
        xs = xs * len(self.models) if len(xs) == 1 else xs
        return sum(w * torch.log_softmax(m(x), 1) for w, m, x in zip(self.weights, self.models, xs))
