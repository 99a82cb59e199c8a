#!/usr/bin/env python
"""Baseline per bundled texture: 20 s from the first half of each clip with a config's recipe.

Prints, per clip, the style loss the baseline reaches, the loss of the clip's unseen second half against
the same target and objective (a real excerpt: the level to beat), and wall times (optimisation, inversion).

    python bench/bench_baseline.py [--seconds 20] [--clips rain fire ...] [--config configs/quickstart.yaml]
"""
from __future__ import annotations

import argparse
import time

import torch

from texnet import experiments as X
from texnet.config import from_section, load_yaml
from texnet.optimize import OptimizeConfig


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--clips", nargs="+", default=list(X.TEXTURES))
    p.add_argument("--config", default=None, help="YAML config (model: and optimize: sections) "
                   "(default: the library's defaults)")
    args = p.parse_args()
    cfg = load_yaml(args.config) if args.config else {}
    obj = X.objective_from_config(cfg)
    opt = from_section(OptimizeConfig, cfg.get("optimize"), "optimize")
    print(f"# baseline, {args.seconds:g} s from the first half of each clip; torch threads {torch.get_num_threads()}")
    print("| clip | baseline style loss | unseen second half | ratio | evaluations | optimise s | invert s | total s |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.clips:
        clip = X.load_clip(name, obj.frontend.sample_rate)
        half = X.first_half(clip)
        t0 = time.perf_counter()
        out = X.baseline(obj, half, args.seconds, config=opt)
        total = time.perf_counter() - t0
        obj.set_targets([half])
        ref = obj.audio_style(clip[X.split(clip):])  # by the objective the baseline optimised
        r = out.result
        print(f"| {name} | {r.style_loss:.4f} | {ref:.4f} | {r.style_loss / ref:.3f} | {len(r.losses)} | "
              f"{r.wall_time:.1f} | {out.inversion_time:.1f} | {total:.1f} |", flush=True)

if __name__ == "__main__":
    main()
