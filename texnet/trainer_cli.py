"""``train.py``: LightningCLI over :class:`TextureModule` and :class:`TextureDataModule`.

Adds to LightningCLI only what the project needs: ``--out DIR`` (run directory: checkpoints, samples,
W&B run), ``--wandb offline|online|off`` (offline by default: no account or network needed), the
checkpoint (``last.ckpt`` + best by ``val/style``) and sample callbacks by default, ``fit`` as the
default subcommand, and a run directory that is never mixed: one holding a run is refused unless
``--ckpt_path`` resumes it or ``--overwrite`` replaces it. Expected failures (bad audio, bad settings)
end with one line, ``train.py: error: ...``, and exit status 2 (``TEXNET_TRACEBACK=1`` shows the trace).
"""
from __future__ import annotations

import logging
import os
import shutil
import sys
from pathlib import Path

import torch
from jsonargparse import ActionYesNo
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.cli import LightningCLI

from .callbacks import BaselineComparison, FinalCheckpoint, LossHistory, SampleLogger
from .data import TextureDataModule
from .module import TextureModule
from .optimize import OptimizeConfig

SUBCOMMANDS = {"fit", "validate", "test", "predict"}
# what a training writes into --out: --overwrite removes these (and nothing else a user may keep there)
RUN_FILES = ("*.ckpt", "config.yaml", *LossHistory.FILES, "comparison.json", "comparison.png", "comparison_generator.wav",
             "comparison_baseline.wav", "wandb_run_id.txt")
RUN_DIRS = ("samples", "wandb", "logs", "lightning_logs")


class RunDirError(ValueError):
    """``--out`` holds another run."""


def prepare_run_dir(out: str | os.PathLike, resume: bool, overwrite: bool) -> None:
    """Refuse a run directory that holds a finished or interrupted run unless resuming it or replacing it
    (``overwrite``: its run files are removed first, so the new run cannot mix with the old)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise RunDirError(f"--out {out}: exists and is not a directory")
    held = sorted(out.glob("*.ckpt"), key=lambda p: p.name != "last.ckpt") if out.is_dir() else []
    if not held or resume:
        return
    if not overwrite:
        raise RunDirError(f"--out {out}: holds a run ({held[0].name}); resume it with --ckpt_path "
                          f"{held[0]}, or add --overwrite to replace it")
    for pattern in RUN_FILES:
        for f in out.glob(pattern):
            f.unlink()
    for d in RUN_DIRS:
        if (out / d).is_dir():
            shutil.rmtree(out / d)


class TexnetCLI(LightningCLI):
    def add_arguments_to_parser(self, parser) -> None:
        parser.add_argument("--out", default="runs/default", help="run directory (checkpoints, samples, W&B)")
        parser.add_argument("--wandb", default="offline", choices=["offline", "online", "off"],
                            help="Weights & Biases: offline (default, no account needed), online, or off")
        parser.add_argument("--threads", type=int | None, default=None, help="torch CPU threads (default: torch's)")
        parser.add_argument("--overwrite", action=ActionYesNo, default=False,
                            help="replace the run already in --out (default: refuse it unless --ckpt_path resumes it)")
        parser.add_lightning_class_args(SampleLogger, "samples")
        parser.add_lightning_class_args(BaselineComparison, "compare")
        parser.set_defaults({"compare.enabled": True})
        # the baseline's settings, as synthesize.py optimize reads them from the same config files
        parser.add_class_arguments(OptimizeConfig, "optimize")

    def before_instantiate_classes(self) -> None:
        cfg = self.config[self.subcommand] if self.subcommand else self.config
        out = cfg.get("out")
        if self.subcommand in (None, "fit"):
            prepare_run_dir(out, resume=bool(cfg.get("ckpt_path")), overwrite=bool(cfg.get("overwrite")))
        cfg["trainer"]["default_root_dir"] = out
        if cfg.get("threads"):
            torch.set_num_threads(int(cfg["threads"]))

    def instantiate_trainer(self, **kwargs):
        cfg = self.config_init[self.subcommand] if self.subcommand else self.config_init
        out = cfg.get("out")
        mode = cfg.get("wandb")
        # no version counter: a resumed run writes best.ckpt / last.ckpt again, never best-v1.ckpt beside them
        extra = [ModelCheckpoint(dirpath=out, filename="best", monitor="val/style", mode="min", save_last=True,
                                 save_top_k=1, enable_version_counter=False)]
        trainer_cfg = cfg["trainer"]
        if trainer_cfg.get("logger") in (None, True):
            from pytorch_lightning.loggers import CSVLogger

            # the losses as CSV always (logs/version_N/metrics.csv), beside W&B unless it is off
            csv = CSVLogger(out, name="logs")
            trainer_cfg["logger"] = csv if mode == "off" else [_wandb_logger(out, mode, bool(cfg.get("ckpt_path"))), csv]
        # keep callbacks given in the config or as --trainer.callbacks (kwargs would replace them)
        given = trainer_cfg.get("callbacks") or []
        given = list(given) if isinstance(given, (list, tuple)) else [given]
        kwargs["callbacks"] = [FinalCheckpoint(Path(out) / "last.ckpt"), LossHistory(out), *given,
                               *kwargs.get("callbacks", []), *extra]
        optimize = cfg.get("optimize")
        for cb in kwargs["callbacks"]:
            if isinstance(cb, BaselineComparison) and optimize is not None:
                cb.optimize = optimize if isinstance(optimize, OptimizeConfig) else OptimizeConfig(**dict(optimize))
        return super().instantiate_trainer(**kwargs)


WANDB_ID_FILE = "wandb_run_id.txt"


def _wandb_logger(out: str, mode: str, resume: bool):
    """A W&B logger writing under ``out``, offline unless ``mode == "online"``: the run is named after the run
    folder, its id kept there so a resumed training (``resume``) goes on in the same W&B run, and W&B's
    staging and cache directories are inside the folder too (copy the folder, sync it elsewhere). Falls back
    to CSV when wandb is not installed."""
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
    folder = Path(out).resolve()
    for var, sub in (("WANDB_CACHE_DIR", "cache"), ("WANDB_DATA_DIR", "data"), ("WANDB_ARTIFACT_DIR", "artifacts")):
        os.environ.setdefault(var, str(folder / "wandb" / sub))
    folder.mkdir(parents=True, exist_ok=True)
    id_file = folder / WANDB_ID_FILE
    if resume and id_file.is_file():
        run_id = id_file.read_text().strip()
    else:
        import secrets
        import string

        run_id = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(8))
        id_file.write_text(run_id)
    return WandbLogger(save_dir=str(folder), project="texnet", name=folder.name, id=run_id, resume="allow",
                       offline=mode != "online", log_model=False)


# Lightning messages a texnet user cannot act on: the frozen descriptors are in eval mode by design, the
# run folder is checked by prepare_run_dir, and the pytree deprecation is Lightning's own.
QUIET = (r".*module\(s\) in eval mode.*", r"Checkpoint directory .* exists and is not empty.*",
         r".*isinstance\(treespec, LeafSpec\).*", r"No seed found.*")


def main(argv: list[str] | None = None) -> None:
    import warnings

    for message in QUIET:
        warnings.filterwarnings("ignore", message=message)
    argv = list(sys.argv[1:] if argv is None else argv)
    if not any(a in SUBCOMMANDS for a in argv) and not any(a in ("-h", "--help") for a in argv):
        argv = ["fit", *argv]
    sys.argv = [sys.argv[0], *argv]  # LightningCLI reads sys.argv; "fit" is the default subcommand
    try:
        _run_cli()
    except (ValueError, OSError) as e:  # AudioError and CheckpointError are ValueErrors
        if os.environ.get("TEXNET_TRACEBACK"):
            raise
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f"train.py: error: {first}", file=sys.stderr)
        sys.exit(2)


def _run_cli() -> None:
    from .config import config_arguments

    sys.argv[1:] = config_arguments(sys.argv[1:])  # --config NAME: a bundled config, from any folder
    TexnetCLI(
        TextureModule,
        TextureDataModule,
        save_config_kwargs={"overwrite": True},
        trainer_defaults={"max_steps": 1000, "gradient_clip_val": 1.0, "log_every_n_steps": 10,
                          "val_check_interval": 100, "check_val_every_n_epoch": None, "accelerator": "auto",
                          "devices": 1, "num_sanity_val_steps": 0},
    )
