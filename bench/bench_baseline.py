#!/usr/bin/env python
"""Baseline per bundled texture: 20 s from the first half of each clip with the default config.

Prints, per clip, the style loss the baseline reaches, the loss of the clip's unseen second half against
the same target (a real excerpt: the level to beat), and wall times (optimisation, inversion).

    python bench/bench_baseline.py [--seconds 20] [--clips rain fire ...] [--config configs/quickstart.yaml]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from texnet.audio import load_audio  # noqa: E402
from texnet.config import from_section, load_yaml  # noqa: E402
from texnet.descriptors import DescriptorConfig, build_descriptor  # noqa: E402
from texnet.frontends import FrontendConfig, build_frontend  # noqa: E402
from texnet.objectives import ObjectiveConfig, TextureObjective  # noqa: E402
from texnet.optimize import OptimizeConfig, run_baseline  # noqa: E402

TEXTURES = ["rain", "wind", "fire", "stream", "crowd", "insects", "machine"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--clips", nargs="+", default=TEXTURES)
    p.add_argument("--config", default=None, help="YAML with frontend/descriptor/objective/optimize sections")
    args = p.parse_args()
    cfg = load_yaml(args.config)
    fe = build_frontend(from_section(FrontendConfig, cfg.get("frontend"), "frontend"))
    obj = TextureObjective(build_descriptor(fe.n_freq, from_section(DescriptorConfig, cfg.get("descriptor"), "descriptor")),
                           from_section(ObjectiveConfig, cfg.get("objective"), "objective"))
    opt = from_section(OptimizeConfig, cfg.get("optimize"), "optimize", progress=False)
    print(f"# baseline, {args.seconds:.0f} s from the first half of each clip; torch threads {torch.get_num_threads()}")
    print("| clip | baseline style loss | unseen second half | ratio | evaluations | optimise s | invert s | total s |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.clips:
        wave = load_audio(ROOT / "data" / f"{name}.ogg", fe.sample_rate)
        half = wave.shape[-1] // 2
        t0 = time.perf_counter()
        out = run_baseline(obj, fe, [wave[:half]], args.seconds, config=opt)
        total = time.perf_counter() - t0
        with torch.no_grad():
            ref = obj(fe(wave[half:])).style.item()  # targets were set from the first half by run_baseline
        r = out.result
        print(f"| {name} | {r.style_loss:.4f} | {ref:.4f} | {r.style_loss / ref:.3f} | {len(r.losses)} | "
              f"{r.wall_time:.1f} | {out.inversion_time:.1f} | {total:.1f} |", flush=True)


if __name__ == "__main__":
    main()
