"""Fixed random CNN descriptors of a spectrogram ``(batch, freq, time)``.

- :class:`Descriptor1D` (Ulyanov & Lebedev 2016; the paper's preferred kind): frequency bins are input
  channels and convolution runs along time only. Several parallel branches with their own kernel width
  and dilation give the paper's "parametric control of receptive fields"; ``n_layers`` stacks layers in
  each branch. The classic single layer ``Conv1d(freq, 4096, 11) + ReLU`` is ``preset("classic")``.
- :class:`Descriptor2D`: the image-style baseline the paper argues against: the spectrogram as a
  one-channel image through Conv2d + ReLU (+ max-pool) layers.

Weights are drawn from ``seed`` (He-normal, ``std = sqrt(2 / fan_in)`` with ``fan_in = in_channels x
kernel size``), biases are zero, and nothing is trained: every parameter has ``requires_grad=False``.
He scaling keeps the pre-activation variance at ``2 E[x^2]`` whatever the number of frequency bins,
kernel width or depth, so activations stay well scaled for any input size. Convolutions are unpadded
("valid"): every activation sees real input only, and the receptive field is exact.

``forward`` returns one activation tensor per (branch, layer), each flattened to ``(batch, channels,
positions)`` so the objective treats 1D and 2D alike.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

import torch
from torch import nn


@dataclass
class DescriptorConfig:
    """Architecture and seed of a random descriptor; rebuilding from it gives identical weights.

    1D: one branch per ``kernel_sizes[i]`` (with ``dilations[i]``; a single dilation applies to every
    branch), each a stack of ``n_layers`` convolutions with ``n_filters`` channels.
    2D: ``channels_2d`` Conv2d layers of ``kernel_2d`` x ``kernel_2d``, each followed by ``pool_2d`` max-pool
    (1 = none).
    """

    kind: Literal["1d", "2d"] = "1d"
    n_filters: int = 512
    kernel_sizes: list[int] = field(default_factory=lambda: [11])
    dilations: list[int] = field(default_factory=lambda: [1])
    n_layers: int = 1
    channels_2d: list[int] = field(default_factory=lambda: [32, 64])
    kernel_2d: int = 3
    pool_2d: int = 2
    seed: int = 0

    @staticmethod
    def preset(name: str) -> "DescriptorConfig":
        """Named configurations: ``classic`` (Ulyanov & Lebedev: 4096 x 11), ``small`` (512 x 11),
        ``multiscale`` (widths 3, 11, 31), ``dilated`` (width 11 at dilations 1, 4, 16), ``image2d``."""
        presets = {
            "classic": DescriptorConfig(n_filters=4096, kernel_sizes=[11]),
            "small": DescriptorConfig(n_filters=512, kernel_sizes=[11]),
            "multiscale": DescriptorConfig(n_filters=256, kernel_sizes=[3, 11, 31]),
            "dilated": DescriptorConfig(n_filters=256, kernel_sizes=[11, 11, 11], dilations=[1, 4, 16]),
            "image2d": DescriptorConfig(kind="2d"),
        }
        if name not in presets:
            raise ValueError(f"unknown descriptor preset {name!r}; choose from {sorted(presets)}")
        return presets[name]


def _he_init_(conv: nn.Module, gen: torch.Generator) -> None:
    fan_in = conv.weight[0].numel()
    with torch.no_grad():
        conv.weight.copy_(torch.randn(conv.weight.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
        if conv.bias is not None:
            conv.bias.zero_()


class Descriptor(nn.Module):
    """Base: frozen parameters, receptive field bookkeeping, ``forward -> list[(batch, C, positions)]``."""

    config: DescriptorConfig

    def freeze(self) -> None:
        for p in self.parameters():
            p.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True):  # a random descriptor has no training behaviour to switch
        return super().train(False)

    @property
    def receptive_field(self) -> int:
        """Frames of input one output position sees (the largest over branches)."""
        raise NotImplementedError  # pragma: no cover - abstract

    def receptive_field_seconds(self, frame_rate: float) -> float:
        return self.receptive_field / frame_rate

    @property
    def n_outputs(self) -> int:
        """Number of activation tensors ``forward`` returns."""
        raise NotImplementedError  # pragma: no cover - abstract

    def check_input(self, spec: torch.Tensor) -> None:
        if spec.dim() != 3:
            raise ValueError(f"descriptor expects (batch, freq, time), got shape {tuple(spec.shape)}")
        if spec.shape[-1] < self.receptive_field:
            raise ValueError(
                f"spectrogram has {spec.shape[-1]} frames, fewer than the descriptor's receptive field "
                f"({self.receptive_field} frames)"
            )


GEMM_POSITIONS = 16  # below this many output positions per item, a CPU conv runs as one matrix product


def conv1d(x: torch.Tensor, conv: nn.Conv1d) -> torch.Tensor:
    """``conv(x)`` for ``x`` ``(batch, channels, time)``; on the CPU, with fewer than ``GEMM_POSITIONS`` output
    positions, as one matrix product of the unfolded input with the flattened weights.

    oneDNN's convolution is slow on a few positions of many channels, such as an 8192-point resolution's
    descriptor on 1.5 s crops (4097 bins, a handful of positions each), where the product is several times
    faster (``bench/RESULTS.md``, "One training step, term by term"). Same result to float rounding.
    """
    k, d = conv.kernel_size[0], conv.dilation[0]
    positions = x.shape[-1] - (k - 1) * d
    if x.device.type != "cpu" or positions >= GEMM_POSITIONS or conv.stride[0] != 1 or conv.padding[0] != 0 \
            or conv.groups != 1 or positions < 1:
        return conv(x)
    b, c, _ = x.shape
    cols = x.unfold(2, (k - 1) * d + 1, 1)[..., ::d]  # (batch, channels, positions, k)
    cols = cols.permute(0, 2, 1, 3).reshape(b * positions, c * k)
    out = cols @ conv.weight.reshape(conv.out_channels, c * k).t()
    if conv.bias is not None:
        out = out + conv.bias
    return out.reshape(b, positions, conv.out_channels).transpose(1, 2)


class Descriptor1D(Descriptor):
    """Parallel branches of stacked ``Conv1d(freq -> n_filters, k, dilation=d) + ReLU`` along time."""

    def __init__(self, n_freq: int, config: DescriptorConfig | None = None):
        super().__init__()
        config = config or DescriptorConfig()
        if config.kind != "1d":
            raise ValueError("Descriptor1D needs config.kind == '1d'")
        ks, ds = list(config.kernel_sizes), list(config.dilations)
        if len(ds) == 1:
            ds = ds * len(ks)
        if not ks or len(ds) != len(ks):
            raise ValueError(f"need one dilation or one per kernel width, got widths {ks} and dilations {ds}")
        if min(ks) < 1 or min(ds) < 1 or config.n_layers < 1 or config.n_filters < 1:
            raise ValueError("kernel widths, dilations, n_layers and n_filters must all be >= 1")
        self.config = config
        self.n_freq = n_freq
        gen = torch.Generator().manual_seed(int(config.seed))
        self.branches = nn.ModuleList()
        self._rf = []
        for k, d in zip(ks, ds):
            layers = nn.ModuleList()
            for i in range(config.n_layers):
                conv = nn.Conv1d(n_freq if i == 0 else config.n_filters, config.n_filters, k, dilation=d)
                _he_init_(conv, gen)
                layers.append(conv)
            self.branches.append(layers)
            self._rf.append(1 + config.n_layers * (k - 1) * d)
        self.freeze()

    @property
    def receptive_field(self) -> int:
        return max(self._rf)

    @property
    def n_outputs(self) -> int:
        return len(self.branches) * self.config.n_layers

    def forward(self, spec: torch.Tensor) -> list[torch.Tensor]:
        """``(batch, freq, time)`` -> list of ``(batch, n_filters, time - rf_branch_layer + 1)``."""
        self.check_input(spec)
        if spec.shape[1] != self.n_freq:
            raise ValueError(f"descriptor built for {self.n_freq} bins, got {spec.shape[1]}")
        outs = []
        for layers in self.branches:
            h = spec
            for conv in layers:
                h = torch.relu(conv1d(h, conv))
                outs.append(h)
        return outs


class Descriptor2D(Descriptor):
    """Image-style descriptor: ``(batch, 1, freq, time)`` through Conv2d + ReLU (+ max-pool) layers."""

    def __init__(self, n_freq: int, config: DescriptorConfig | None = None):
        super().__init__()
        config = config or DescriptorConfig(kind="2d")
        if config.kind != "2d":
            raise ValueError("Descriptor2D needs config.kind == '2d'")
        if not config.channels_2d or config.kernel_2d < 1 or config.pool_2d < 1:
            raise ValueError("2D descriptor needs channels_2d, kernel_2d >= 1 and pool_2d >= 1")
        self.config = config
        self.n_freq = n_freq
        gen = torch.Generator().manual_seed(int(config.seed))
        self.convs = nn.ModuleList()
        cin, rf, jump = 1, 1, 1
        for i, c in enumerate(config.channels_2d):
            conv = nn.Conv2d(cin, c, config.kernel_2d)
            _he_init_(conv, gen)
            self.convs.append(conv)
            rf += (config.kernel_2d - 1) * jump
            if config.pool_2d > 1 and i < len(config.channels_2d) - 1:  # no pool after the last layer
                rf += (config.pool_2d - 1) * jump
                jump *= config.pool_2d
            cin = c
        self._rf = rf
        self.pool = nn.MaxPool2d(config.pool_2d) if config.pool_2d > 1 else nn.Identity()
        self.freeze()

    @property
    def receptive_field(self) -> int:
        return self._rf

    @property
    def n_outputs(self) -> int:
        return len(self.convs)

    def forward(self, spec: torch.Tensor) -> list[torch.Tensor]:
        """``(batch, freq, time)`` -> list of ``(batch, channels, freq' x time')`` (post-ReLU, pre-pool)."""
        self.check_input(spec)
        if spec.shape[1] < self._rf:
            raise ValueError(f"2D descriptor needs at least {self._rf} frequency bins, got {spec.shape[1]}")
        h = spec.unsqueeze(1)
        outs = []
        for i, conv in enumerate(self.convs):
            h = torch.relu(conv(h))
            outs.append(h.flatten(2))
            if i < len(self.convs) - 1:
                h = self.pool(h)
        return outs


def build_descriptor(n_freq: int, config: DescriptorConfig) -> Descriptor:
    """The frozen descriptor a config describes, for spectrograms with ``n_freq`` bins."""
    if config.kind == "1d":
        return Descriptor1D(n_freq, config)
    if config.kind == "2d":
        return Descriptor2D(n_freq, config)
    raise ValueError(f"unknown descriptor kind {config.kind!r} (expected '1d' or '2d')")


def describe(config: DescriptorConfig) -> dict:
    return asdict(config)
