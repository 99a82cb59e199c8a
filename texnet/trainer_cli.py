"""``train.py``: LightningCLI over :class:`TextureModule` and :class:`TextureDataModule`.

Adds to LightningCLI only what the project needs: ``--out DIR`` (run directory: checkpoints, samples,
W&B run), ``--wandb offline|online|off`` (offline by default: no account or network needed), the
checkpoint (``last.ckpt`` + best by ``val/style``) and sample callbacks by default, and ``fit`` as the
default subcommand.
"""
from __future__ import annotations

import logging
import os
import sys

import torch
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.cli import LightningCLI

from .callbacks import BaselineComparison, SampleLogger
from .data import TextureDataModule
from .module import TextureModule
from .optimize import OptimizeConfig

SUBCOMMANDS = {"fit", "validate", "test", "predict"}


class TexnetCLI(LightningCLI):
    def add_arguments_to_parser(self, parser) -> None:
        parser.add_argument("--out", default="runs/default", help="run directory (checkpoints, samples, W&B)")
        parser.add_argument("--wandb", default="offline", choices=["offline", "online", "off"],
                            help="Weights & Biases: offline (default, no account needed), online, or off")
        parser.add_argument("--threads", type=int | None, default=None, help="torch CPU threads (default: torch's)")
        parser.add_lightning_class_args(SampleLogger, "samples")
        parser.add_lightning_class_args(BaselineComparison, "compare")
        parser.set_defaults({"compare.enabled": True})
        # the baseline's settings, as synthesize.py optimize reads them from the same config files
        parser.add_class_arguments(OptimizeConfig, "optimize")

    def before_instantiate_classes(self) -> None:
        cfg = self.config[self.subcommand] if self.subcommand else self.config
        out = cfg.get("out")
        cfg["trainer"]["default_root_dir"] = out
        if cfg.get("threads"):
            torch.set_num_threads(int(cfg["threads"]))

    def instantiate_trainer(self, **kwargs):
        cfg = self.config_init[self.subcommand] if self.subcommand else self.config_init
        out = cfg.get("out")
        mode = cfg.get("wandb")
        extra = [ModelCheckpoint(dirpath=out, filename="best", monitor="val/style", mode="min", save_last=True,
                                 save_top_k=1)]
        trainer_cfg = cfg["trainer"]
        if trainer_cfg.get("logger") in (None, True):
            if mode == "off":
                from pytorch_lightning.loggers import CSVLogger

                trainer_cfg["logger"] = CSVLogger(out, name="logs")
            else:
                trainer_cfg["logger"] = _wandb_logger(out, mode)
        # keep callbacks given in the config or as --trainer.callbacks (kwargs would replace them)
        given = trainer_cfg.get("callbacks") or []
        given = list(given) if isinstance(given, (list, tuple)) else [given]
        kwargs["callbacks"] = [*given, *kwargs.get("callbacks", []), *extra]
        optimize = cfg.get("optimize")
        for cb in kwargs["callbacks"]:
            if isinstance(cb, BaselineComparison) and optimize is not None:
                cb.optimize = optimize if isinstance(optimize, OptimizeConfig) else OptimizeConfig(**dict(optimize))
        return super().instantiate_trainer(**kwargs)


def _wandb_logger(out: str, mode: str):
    """A W&B logger writing under ``out``; offline unless ``mode == "online"``. Falls back to CSV when
    wandb is not installed."""
    try:
        import wandb  # noqa: F401
        from pytorch_lightning.loggers import WandbLogger
    except ImportError:
        from pytorch_lightning.loggers import CSVLogger

        logging.getLogger("texnet").warning("wandb is not installed: logging to CSV in %s", out)
        return CSVLogger(out, name="logs")
    if mode != "online":
        os.environ["WANDB_MODE"] = "offline"
    os.environ.setdefault("WANDB_SILENT", "true")
    os.makedirs(out, exist_ok=True)
    return WandbLogger(save_dir=out, project="texnet", offline=mode != "online", log_model=False)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not any(a in SUBCOMMANDS for a in argv) and not any(a in ("-h", "--help") for a in argv):
        argv = ["fit", *argv]
    sys.argv = [sys.argv[0], *argv]  # LightningCLI reads sys.argv; "fit" is the default subcommand
    TexnetCLI(
        TextureModule,
        TextureDataModule,
        save_config_kwargs={"overwrite": True},
        trainer_defaults={"max_steps": 1000, "gradient_clip_val": 1.0, "log_every_n_steps": 10,
                          "val_check_interval": 100, "check_val_every_n_epoch": None, "accelerator": "auto",
                          "devices": 1, "num_sanity_val_steps": 0},
    )
