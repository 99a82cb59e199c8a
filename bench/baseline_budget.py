#!/usr/bin/env python
"""The baseline's quality per budget: the same baseline and seed stopped after N objective evaluations.

    python bench/baseline_budget.py                                  # rain, fire, stream; 12, 36, 72, 150
    python bench/baseline_budget.py --clips wind --budgets 20 40     # others

The bundled baseline (`configs/baseline.yaml`, what `optimize` runs without `--config`) makes ``--seconds`` of
texture from the first half of each clip with seed 0, stopped after exactly N evaluations (no early stop:
``rel_tol`` 0), and is judged by the texture ratio to the unseen half. Prints a markdown row per budget:
evaluations made, seconds, the ratio per clip and their mean. One torch thread unless ``--threads``.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from texnet import experiments as X
from texnet.config import from_section, load_yaml
from texnet.metrics import texture_ratio
from texnet.optimize import OptimizeConfig


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clips", nargs="+", default=["rain", "fire", "stream"])
    p.add_argument("--budgets", nargs="+", type=int, default=[12, 36, 72, 150])
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    cfg = load_yaml(X.ROOT / "configs" / "baseline.yaml")
    objective = X.objective_from_config(cfg)
    base = from_section(OptimizeConfig, cfg.get("optimize"), "optimize")
    print(f"# the bundled baseline per budget, {args.seconds:g} s from the first half, seed 0, "
          f"{torch.get_num_threads()} torch thread(s)")
    print("| budget (evaluations) | evaluations made (mean) | seconds (mean) | " + " | ".join(args.clips) + " | mean |")
    print("|---|---|---|" + "---|" * (len(args.clips) + 1))
    clips = {c: X.load_clip(c, objective.frontend.sample_rate) for c in args.clips}
    for n in args.budgets:
        ratios, evals, secs = [], [], []
        for clip in clips.values():
            t = time.perf_counter()
            out = X.baseline(objective, X.first_half(clip), args.seconds, config=base, max_iter=n, rel_tol=0.0, seed=0)
            secs.append(time.perf_counter() - t)
            evals.append(len(out.result.losses))
            ratios.append(texture_ratio(clip, out.wave, objective.frontend.sample_rate)["ratio"])
        cells = " | ".join(f"{r:.2f}" for r in ratios)
        print(f"| {n} | {statistics.mean(evals):.0f} | {statistics.mean(secs):.0f} | {cells} | "
              f"{statistics.mean(ratios):.2f} |", flush=True)


if __name__ == "__main__":
    main()
