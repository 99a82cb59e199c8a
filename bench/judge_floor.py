#!/usr/bin/env python
"""The texture ratio a generator cannot beat without varying less than the recording it learnt from.

    python bench/judge_floor.py ../shared/data/rain_0ad_11.ogg ../shared/data/wind_megaglest_winter.ogg
    python bench/judge_floor.py data/rain.ogg data/wind.ogg        # the bundled 20 s clips (5 s quarters)

A generator learns from one half A of a recording and is judged against the other, B, by
``d(output, B) / d(A, B)`` (:func:`texnet.metrics.texture_ratios`). Even a perfect one reproduces A's
statistics, estimation noise included, and each of its outputs then varies about them as a recording does.
Each recording is cut into quarters; for every ordered pair (A, B) and the other two quarters (C, D), two
candidates are scored in the judge's own comparison space (logs where the judge compares logs):

- an independent excerpt: C itself (what a generator of the whole recording's process would score);
- "A + a recording's own variation": A's statistics plus (C - D) / sqrt(2), the difference of two other
  excerpts scaled to one excerpt's variation (what a generator that reproduces A exactly and varies
  like the recording scores).

Prints the mean and range of both and the share of the second above 1.35.
"""
from __future__ import annotations

import argparse
import itertools
import math
import sys

import numpy as np
import torch

from texnet.audio import load_audio
from texnet.metrics import GROUP_SCALES, STAT_GROUPS, texture_statistics

# the floors texnet.metrics.texture_distance_raw clamps each logged statistic to
LOG_FLOORS = {"mean": 1e-9, "cv": 1e-6, "kurtosis": 1e-6, "mod": 1e-6}


def comparison_space(stats: dict) -> dict[str, torch.Tensor]:
    """The statistics as the judge compares them: log10 where it compares logs."""
    return {g: torch.log10(stats[g].clamp_min(LOG_FLOORS[g])) if g in LOG_FLOORS else stats[g] for g in STAT_GROUPS}


def distance(a: dict, b: dict) -> float:
    """:func:`texnet.metrics.texture_distance`'s ``score`` of statistics already in :func:`comparison_space`."""
    k = a["corr"].shape[0]
    off = ~torch.eye(k, dtype=torch.bool)
    groups = [float(((a[g] - b[g])[off] if g == "corr" else a[g] - b[g]).abs().mean()) / GROUP_SCALES[g]
              for g in STAT_GROUPS]
    return float(np.mean(groups))


def floor(wave: torch.Tensor, sample_rate: int) -> tuple[list[float], list[float]]:
    """Ratios of independent excerpts and of "A + own variation" over every arrangement of ``wave``'s quarters."""
    n = wave.shape[-1] // 4
    q = [comparison_space(texture_statistics(wave[i * n:(i + 1) * n], sample_rate)) for i in range(4)]
    real, simulated = [], []
    for a, b in itertools.permutations(range(4), 2):
        base = distance(q[a], q[b])
        for c, d in itertools.permutations([i for i in range(4) if i not in (a, b)]):
            real.append(distance(q[c], q[b]) / base)
            own = {g: q[a][g] + (q[c][g] - q[d][g]) / math.sqrt(2) for g in STAT_GROUPS}
            simulated.append(distance(own, q[b]) / base)
    return real, simulated


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("audio", nargs="+")
    p.add_argument("--sample-rate", type=int, default=22050)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    print("| recording | quarter s | independent excerpt: mean (range) | A + own variation: mean (range) | above 1.35 |")
    print("|---|---|---|---|---|")
    for path in args.audio:
        wave = load_audio(path, args.sample_rate)
        real, sim = floor(wave, args.sample_rate)
        print(f"| {path} | {wave.shape[-1] / 4 / args.sample_rate:.1f} | {np.mean(real):.2f} ({min(real):.2f}-{max(real):.2f}) | "
              f"{np.mean(sim):.2f} ({min(sim):.2f}-{max(sim):.2f}) | {np.mean(np.array(sim) > 1.35):.0%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
