#!/usr/bin/env python
"""A floor for the texture ratio: noise with exactly the source's long-term spectrum, per bundled clip.

    python bench/spectrum_noise.py                     # every bundled texture, 10 s, seeds 0-3
    python bench/spectrum_noise.py --textures wind --seeds 2

Each output is Gaussian noise coloured by the first half's mean STFT power per bin (n_fft 1024, hop 256:
random phases under the square root of that power, one inverse STFT), judged like every synthesis here
(:func:`texnet.metrics.texture_ratio` against the unseen second half). It has the source's spectrum and
nothing else: no events, no envelope statistics, no modulation. A synthesis that scores near it has learnt
little beyond the spectrum; the gap between it and 1.0 is what the texture statistics see beyond it.
"""
from __future__ import annotations

import argparse
import statistics
import sys

import torch

from texnet import experiments as X
from texnet.metrics import STAT_GROUPS, texture_ratio

N_FFT, HOP, SR = 1024, 256, X.SAMPLE_RATE


def spectrum_noise(source: torch.Tensor, seconds: float, seed: int) -> torch.Tensor:
    """``(samples,)`` of Gaussian noise with ``source``'s ``(samples,)`` mean power per STFT bin."""
    window = torch.hann_window(N_FFT)
    power = torch.stft(source, N_FFT, HOP, window=window, return_complex=True).abs().square().mean(-1)
    frames = int(seconds * SR / HOP) + 1
    phase = torch.rand(power.shape[0], frames, generator=torch.Generator().manual_seed(seed)) * 2 * torch.pi
    spec = torch.polar(power.sqrt()[:, None].expand(-1, frames), phase)
    return torch.istft(spec, N_FFT, HOP, window=window)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--textures", nargs="+", default=list(X.TEXTURES))
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--seeds", type=int, default=4)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    print("| texture | texture ratio (seeds) | " + " / ".join(STAT_GROUPS) + " |\n|---|---|---|")
    for t in args.textures:
        clip = X.load_clip(t, SR)
        rows = [texture_ratio(clip, spectrum_noise(X.first_half(clip), args.seconds, s), SR)
                for s in range(args.seeds)]
        groups = " / ".join(f"{statistics.mean(r[f'ratio_{g}'] for r in rows):.1f}" for g in STAT_GROUPS)
        seeds = ", ".join(f"{r['ratio']:.2f}" for r in rows)
        print(f"| {t} | {statistics.mean(r['ratio'] for r in rows):.2f} ({seeds}) | {groups} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
