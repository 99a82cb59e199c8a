#!/usr/bin/env python
"""``train.py`` plus a clock: the wall time and loss of every training step, as CSV in the run directory.

    python bench/step_clock.py --config configs/quickstart.yaml --out runs/x --wandb off     # same arguments as train.py

Runs exactly ``train.py``'s LightningCLI (:func:`texnet.trainer_cli.main`) with one more callback,
:class:`StepClock`, which writes ``<run>/step_clock.csv`` with ``step,seconds,loss,val_style`` (seconds
since the start of fitting, validation and callbacks included; ``loss`` is the step's ``train/style``;
``val_style`` is filled on the rows after which validation ran). ``bench/run_all.py`` uses it for the
generator's loss-vs-time curve. (It is added here rather than with ``--trainer.callbacks+=...`` because
``TexnetCLI.instantiate_trainer`` replaces callbacks given that way by its own list.)
"""
from __future__ import annotations

import time
from pathlib import Path

import pytorch_lightning as pl


class StepClock(pl.Callback):
    def __init__(self):
        self.t0 = None
        self.rows: list[list] = []

    def on_train_start(self, trainer, module):
        self.t0 = time.perf_counter()

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        style = trainer.callback_metrics.get("train/style")
        if style is None and isinstance(outputs, dict):
            style = outputs.get("loss")
        self.rows.append([trainer.global_step, time.perf_counter() - self.t0,
                          float(style) if style is not None else float("nan"), ""])

    def on_validation_end(self, trainer, module):
        val = trainer.callback_metrics.get("val/style")
        if self.rows and val is not None:
            self.rows[-1][3] = f"{float(val):.6g}"

    def on_train_end(self, trainer, module):
        if not trainer.is_global_zero:
            return
        out = Path(trainer.default_root_dir) / "step_clock.csv"
        out.parent.mkdir(parents=True, exist_ok=True)
        lines = ["step,seconds,loss,val_style"] + [f"{s},{t:.4f},{l:.6g},{v}" for s, t, l, v in self.rows]
        out.write_text("\n".join(lines) + "\n")


def main() -> None:
    from texnet import trainer_cli

    original = trainer_cli.TexnetCLI.instantiate_trainer

    def with_clock(self, **kwargs):
        kwargs["callbacks"] = [*kwargs.get("callbacks", []), StepClock()]
        return original(self, **kwargs)

    trainer_cli.TexnetCLI.instantiate_trainer = with_clock
    trainer_cli.main()


if __name__ == "__main__":
    main()
