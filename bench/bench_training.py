#!/usr/bin/env python
"""Training throughput: steps per second of the generator trainer, per precision, side by side.

    python bench/bench_training.py --config configs/quickstart.yaml --steps 60
    python bench/bench_training.py --config configs/quickstart.yaml --steps 200 --precision 32-true bf16-mixed

Runs the real Lightning Trainer (no checkpoints, no logger, no callbacks) for each precision in turn on
the same device and prints steps/s and the ratio to the first precision, plus the final training loss.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pytorch_lightning as pl
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from texnet.config import from_section, load_yaml  # noqa: E402
from texnet.data import TextureDataModule  # noqa: E402
from texnet.descriptors import DescriptorConfig  # noqa: E402
from texnet.frontends import FrontendConfig  # noqa: E402
from texnet.generators import GeneratorConfig  # noqa: E402
from texnet.module import TextureModule  # noqa: E402
from texnet.objectives import ObjectiveConfig  # noqa: E402


class StepTimer(pl.Callback):
    """Wall time between the end of warm-up step ``skip`` and the last step."""

    def __init__(self, skip: int):
        self.skip, self.t0, self.t1, self.n = skip, None, None, 0

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        if trainer.global_step == self.skip:
            self.t0 = time.perf_counter()
        elif trainer.global_step > self.skip:
            self.t1, self.n = time.perf_counter(), trainer.global_step - self.skip
        self.loss = float(outputs["loss"]) if isinstance(outputs, dict) else float("nan")


def run(cfg: dict, steps: int, precision: str, accelerator: str) -> tuple[float, float]:
    model = cfg.get("model", {})
    module = TextureModule(
        from_section(FrontendConfig, model.get("frontend"), "frontend"),
        from_section(DescriptorConfig, model.get("descriptor"), "descriptor"),
        from_section(ObjectiveConfig, model.get("objective"), "objective"),
        from_section(GeneratorConfig, model.get("generator"), "generator"),
        lr=model.get("lr", 2e-3),
    )
    data = dict(cfg.get("data", {}))
    data["steps_per_epoch"] = steps + 1
    dm = TextureDataModule(**data)
    timer = StepTimer(skip=min(10, steps // 4))
    trainer = pl.Trainer(max_steps=steps, accelerator=accelerator, devices=1, precision=precision, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         limit_val_batches=0, callbacks=[timer], gradient_clip_val=1.0)
    trainer.fit(module, dm)
    return timer.n / (timer.t1 - timer.t0), timer.loss


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="configs/quickstart.yaml")
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--precision", nargs="+", default=None,
                   help="Lightning precisions to compare (default: 32-true, plus bf16-mixed on a GPU)")
    p.add_argument("--accelerator", default="auto")
    args = p.parse_args()
    cfg = load_yaml(args.config)
    # load_yaml lifts model sections to the top level; keep the nested view for the module
    cfg = {"model": {k: cfg[k] for k in ("frontend", "descriptor", "objective", "generator") if k in cfg}
           | {"lr": (cfg.get("model") or {}).get("lr", 2e-3)}, "data": cfg.get("data", {})}
    gpu = torch.cuda.is_available() and args.accelerator in ("auto", "gpu", "cuda")
    precisions = args.precision or (["32-true", "bf16-mixed"] if gpu else ["32-true"])
    device = torch.cuda.get_device_name(0) if gpu else f"CPU ({torch.get_num_threads()} threads)"
    print(f"# training throughput, {args.config}, {args.steps} steps, device: {device}")
    first = None
    for prec in precisions:
        sps, loss = run(cfg, args.steps, prec, args.accelerator)
        first = first or sps
        print(f"precision {prec:>10s}: {sps:7.2f} steps/s  ({sps / first:.2f}x of {precisions[0]})  last loss {loss:.4f}")


if __name__ == "__main__":
    main()
