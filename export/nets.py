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
    the feature scale."""

    def __init__(self, n_classes: int, n_mels: int = 40, channels=(16, 24, 32, 48), kernel: int = 9, dropout: float = 0.1):
        super().__init__()
        self.norm = nn.BatchNorm1d(n_mels)
        self.stem = nn.Sequential(nn.Conv1d(n_mels, channels[0], 3, 1, 1, bias=False), nn.BatchNorm1d(channels[0]), nn.ReLU())
        self.blocks = nn.Sequential(*[_TCBlock(a, b, kernel, 2) for a, b in zip(channels[:-1], channels[1:])])
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(channels[-1], n_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The pooled features the head reads (what an auxiliary head can share)."""
        return self.drop(self.blocks(self.stem(self.norm(x))).mean(-1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))
