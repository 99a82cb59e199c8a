#!/usr/bin/env python
"""The texture ratio a generator cannot beat without varying less than the recording it learnt from.

    python bench/judge_floor.py ../shared/data/rain_0ad_11.ogg ../shared/data/wind_megaglest_winter.ogg
    python bench/judge_floor.py data/rain.ogg data/wind.ogg        # the bundled 20 s clips (5 s quarters)

A generator learns from one half A of a recording and is judged against the other, B, by
``d(output, B) / d(A, B)`` (:func:`texnet.metrics.texture_ratios`). Even a perfect one reproduces A's
statistics, estimation noise included, and each of its outputs then varies about them as a recording does.
:func:`texnet.metrics.texture_ratio_floor` scores, over every arrangement of a recording's quarters (A, B and
the other two, C and D), an independent excerpt C and "A + a recording's own variation" (A's statistics plus
(C - D) / sqrt(2) in the judge's comparison space). Prints their means, the second's range and its share above
1.35.
"""
from __future__ import annotations

import argparse
import sys

import torch

from texnet.audio import load_audio
from texnet.metrics import texture_ratio_floor


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("audio", nargs="+")
    p.add_argument("--sample-rate", type=int, default=22050)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    print("| recording | quarter s | independent excerpt: mean | A + own variation: mean (range) |")
    print("|---|---|---|---|")
    for path in args.audio:
        wave = load_audio(path, args.sample_rate)
        f = texture_ratio_floor(wave, args.sample_rate)
        quarter = f"{wave.shape[-1] / 4 / args.sample_rate:.1f}"
        if f is None:
            print(f"| {path} | {quarter} | too short | |")
            continue
        print(f"| {path} | {quarter} | {f['independent']:.2f} | {f['own_variation']:.2f} "
              f"({f['own_variation_low']:.2f}-{f['own_variation_high']:.2f}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
