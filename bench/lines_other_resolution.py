#!/usr/bin/env python
"""Spectral lines counted at a resolution the tone guard never computes: an independent check of it.

    python bench/lines_other_resolution.py crowd runs/recipes/crowd_default/last.ckpt [more.ckpt ...]

The judge's count (:func:`texnet.metrics.spectral_lines`) and the tone guard (:mod:`texnet.tones`) look at the
same 8192-point spectrum, so a generator trained with the guard could lower that count without losing its
tones. This counts them the same way in 16384-point frames with a running median over 81 bins (the same width
in Hz, the same 6 dB): 60 s of each generator (seeds 0 and 1), and the whole clip and the half trained on.
"""
from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from texnet import experiments as X
from texnet.inference import load_generator
from texnet.metrics import LINE_THRESHOLD_DB


def count_lines(wave: torch.Tensor, sample_rate: int, n_fft: int = 16384, width: int = 81,
                low_hz: float = 50.0, high_hz: float = 4000.0) -> int:
    """Local maxima of the long-term spectrum of ``wave`` ``(samples,)`` more than the judge's threshold above
    the running median over ``width`` bins, between ``low_hz`` and ``high_hz``."""
    spec = torch.stft(wave.double(), n_fft, n_fft // 4, window=torch.hann_window(n_fft, dtype=torch.float64),
                      return_complex=True)
    level = 10 * torch.log10(spec.abs().square().mean(-1) + 1e-30)
    half = width // 2
    median = F.pad(level[None, None], (half, half), mode="replicate")[0, 0].unfold(0, width, 1).median(-1).values
    hz = torch.arange(level.shape[0], dtype=torch.float64) * sample_rate / n_fft
    inner = F.pad(level[None, None], (1, 1), mode="replicate")[0, 0]
    peak = (level >= inner[:-2]) & (level > inner[2:])
    band = (hz >= low_hz) & (hz <= high_hz)
    return int((peak & band & (level - median > LINE_THRESHOLD_DB)).sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clip", help="a bundled clip's name (data/<clip>.ogg)")
    ap.add_argument("ckpts", nargs="+")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    for path in args.ckpts:
        gen = load_generator(path)
        with torch.no_grad():
            counts = [count_lines(gen.generate(args.seconds, seed=s), gen.sample_rate) for s in (0, 1)]
        print(f"{path}: seeds 0 / 1: {counts[0]} / {counts[1]}", flush=True)
    clip = X.load_clip(args.clip, gen.sample_rate)
    print(f"{args.clip}: whole clip {count_lines(clip, gen.sample_rate)}, "
          f"half trained on {count_lines(clip[:X.split(clip)], gen.sample_rate)}")


if __name__ == "__main__":
    main()
