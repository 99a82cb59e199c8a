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

from texnet import experiments as X
from texnet.inference import load_generator
from texnet.metrics import spectral_lines


def count_lines(wave: torch.Tensor, sample_rate: int) -> int:
    """The judge's count in 16384-point frames, its running median over 81 bins (the same 110 Hz)."""
    return int(spectral_lines(wave, sample_rate, n_fft=16384, width_bins=81)["count"])


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
