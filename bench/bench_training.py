#!/usr/bin/env python
"""Training throughput: steps per second of the generator trainer, per precision, side by side.

    python bench/bench_training.py --config configs/quickstart.yaml --steps 60
    python bench/bench_training.py --config configs/quickstart.yaml --steps 200 --precision 32-true bf16-mixed

Runs the real Lightning Trainer (no checkpoints, no logger, no validation) for each precision in turn on
the same device and prints steps/s and the ratio to the first precision, plus the final training loss.
"""
from __future__ import annotations

import argparse
import time

import pytorch_lightning as pl
import torch

from texnet import experiments as X
from texnet.config import load_yaml


class StepTimer(pl.Callback):
    """Wall time between the end of warm-up step ``skip`` and the last step."""

    def __init__(self, skip: int):
        self.skip, self.t0, self.t1, self.n = skip, None, None, 0
        self.loss = float("nan")

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        if trainer.global_step == self.skip:
            self.t0 = time.perf_counter()
        elif trainer.global_step > self.skip:
            self.t1, self.n = time.perf_counter(), trainer.global_step - self.skip
        self.loss = float(outputs["loss"]) if isinstance(outputs, dict) else float("nan")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="configs/quickstart.yaml")
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--precision", nargs="+", default=None,
                   help="Lightning precisions to compare (default: 32-true, plus bf16-mixed on a GPU)")
    p.add_argument("--accelerator", default="auto")
    args = p.parse_args()
    cfg = load_yaml(args.config)
    model, data = X.module_kwargs(cfg), dict(cfg.get("data") or {})
    gpu = torch.cuda.is_available() and args.accelerator in ("auto", "gpu", "cuda")
    precisions = args.precision or (["32-true", "bf16-mixed"] if gpu else ["32-true"])
    device = torch.cuda.get_device_name(0) if gpu else f"CPU ({torch.get_num_threads()} threads)"
    print(f"# training throughput, {args.config}, {args.steps} steps, device: {device}")
    first = None
    for prec in precisions:
        timer = StepTimer(skip=min(10, args.steps // 4))
        X.fit_generator(model, data, args.steps, precision=prec, accelerator=args.accelerator, callbacks=[timer])
        sps = timer.n / (timer.t1 - timer.t0)
        first = first or sps
        print(f"precision {prec:>10s}: {sps:7.2f} steps/s  ({sps / first:.2f}x of {precisions[0]})  "
              f"last loss {timer.loss:.4f}")


if __name__ == "__main__":
    main()
