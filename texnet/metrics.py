"""Quality measures used in logs, tests and benchmarks."""
from __future__ import annotations

import torch


def spectral_convergence(reference_mag: torch.Tensor, estimate_mag: torch.Tensor) -> torch.Tensor:
    """Spectral convergence in dB, ``20 log10(||S - S_hat||_F / ||S||_F)``, per batch item.

    Both are LINEAR magnitudes ``(batch, freq, time)`` (or ``(freq, time)``); the shorter time axis wins.
    Lower is better: -20 dB means the reconstruction's spectrogram is within 10 % of the reference.
    """
    if reference_mag.dim() == 2:
        reference_mag, estimate_mag = reference_mag.unsqueeze(0), estimate_mag.unsqueeze(0)
    t = min(reference_mag.shape[-1], estimate_mag.shape[-1])
    ref, est = reference_mag[..., :t], estimate_mag[..., :t]
    num = (ref - est).flatten(1).norm(dim=1)
    den = ref.flatten(1).norm(dim=1).clamp_min(1e-12)
    return 20 * torch.log10(num / den + 1e-12)
