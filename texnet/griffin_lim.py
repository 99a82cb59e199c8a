"""Fast Griffin-Lim phase retrieval (Perraudin, Balazs & Sondergaard 2013): the one implementation, used
by the front end's inverse and by the streaming inversion; a functional and its module twin.

    angles = griffin_lim(mag, angles, stft, istft, n_iter=32)      # unit-modulus phases (..., freq, time)
    wave = GriffinLim(frontend, n_iter=32)(mag, seed=0)             # (batch, samples)
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn


def unit(x: torch.Tensor) -> torch.Tensor:
    """``x / |x|`` for complex ``x``, without a complex ``abs`` (faster than ``x / x.abs()`` on a CPU:
    ``bench/RESULTS.md``, "Implementation choices measured")."""
    r = torch.view_as_real(x)
    inv = r[..., 0] * r[..., 0]
    inv.addcmul_(r[..., 1], r[..., 1]).add_(1e-30).rsqrt_()
    return x * inv


def random_phase(shape, seed: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """Unit-modulus complex phases of ``shape``, uniform, drawn from ``seed`` (not the global RNG)."""
    gen = torch.Generator().manual_seed(int(seed))
    return torch.polar(torch.ones(shape), torch.rand(shape, generator=gen) * (2 * math.pi)).to(device)


def griffin_lim(mag: torch.Tensor, angles: torch.Tensor, stft: Callable[[torch.Tensor], torch.Tensor],
                istft: Callable[[torch.Tensor], torch.Tensor], n_iter: int, momentum: float = 0.99,
                n_fixed: int = 0) -> torch.Tensor:
    """Unit-modulus phases ``(..., freq, time)`` for the magnitude ``mag`` ``(..., freq, time)``, from the
    start ``angles``; ``istft(mag * angles)`` is the waveform.

    ``stft``/``istft`` map complex spectrograms to waveforms and back (same leading dimensions).
    ``momentum`` is the fast variant's (0: plain Griffin-Lim). The first ``n_fixed`` frames keep their
    phase (a stream's committed context).
    """
    alpha = momentum / (1.0 + momentum)
    fixed = angles[..., :n_fixed].clone() if n_fixed else None
    prev = None
    for _ in range(n_iter):
        rebuilt = stft(istft(mag * angles))
        angles = unit(rebuilt if prev is None else rebuilt - alpha * prev)
        if fixed is not None:
            angles[..., :n_fixed] = fixed
        prev = rebuilt
    return angles


class GriffinLim(nn.Module):
    """Linear magnitude ``(batch, freq, time)`` -> waveform ``(batch, samples)`` through an STFT front end,
    from seeded random phases."""

    def __init__(self, frontend, n_iter: int = 32, momentum: float = 0.99):
        super().__init__()
        self.frontend, self.n_iter, self.momentum = frontend, int(n_iter), float(momentum)

    @torch.no_grad()
    def forward(self, mag: torch.Tensor, seed: int = 0, length: int | None = None,
                init_phase: torch.Tensor | None = None) -> torch.Tensor:
        fe = self.frontend
        length = fe.samples_for_frames(mag.shape[-1]) if length is None else length
        angles = random_phase(mag.shape, seed, mag.device) if init_phase is None else init_phase.to(mag.device)
        istft = lambda s: fe.istft(s, length)  # noqa: E731
        angles = griffin_lim(mag, angles, fe.complex_stft, istft, self.n_iter, self.momentum)
        return istft(mag * angles)
