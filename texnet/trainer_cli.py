"""``train.py``: LightningCLI over :class:`TextureModule` and :class:`TextureDataModule`.

Adds to LightningCLI only what the project needs: ``--out DIR`` (run directory: checkpoints, samples,
W&B run), ``--wandb offline|online|off`` (offline by default: no account or network needed), the
checkpoint (``last.ckpt`` + best by ``val/style``) and sample callbacks by default, ``fit`` as the
default subcommand, and a run directory that is never mixed: one holding a run is refused unless
``--ckpt_path`` resumes it or ``--overwrite`` replaces it, and a second training into it at the same time
is refused (:class:`RunDir`). Expected failures (bad arguments, audio, checkpoints, settings) are found
before any work and end with one line, ``train.py: error: ...``, and exit status 2 (``TEXNET_TRACEBACK=1``
shows the trace); a failed start leaves no run folder behind. Ctrl-C (or SIGTERM) ends with one line
naming the checkpoint that resumes the run, status 130 (143).
"""
from __future__ import annotations

import logging
import os
import shutil
import sys
from pathlib import Path

import pytorch_lightning as pl
import torch
from jsonargparse import ActionYesNo
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.cli import LightningCLI

from .callbacks import BaselineComparison, FinalCheckpoint, LossHistory, SampleLogger, SpectrumCalibration
from .data import TextureDataModule
from .module import TextureModule
from .optimize import OptimizeConfig

# Lightning's subcommands: a texture module has no test or predict step, so those two are not offered; typed, they
# still count as a subcommand here, and the parser refuses them in one line
SUBCOMMANDS = {"fit", "validate", "test", "predict"}
OFFERED = ("fit", "validate")


def prog() -> str:
    """The command's name in its messages: ``texnet train`` when run as that (``texnet``'s dispatcher names
    it so in ``sys.argv``), else ``train.py``."""
    return "texnet train" if sys.argv and sys.argv[0] == "texnet train" else "train.py"


# what a training writes into --out: --overwrite removes these (and nothing else a user may keep there)
RUN_FILES = ("*.ckpt", "config.yaml", *LossHistory.FILES, "comparison.json", "comparison.png", "comparison_generator.wav",
             "comparison_baseline.wav", "wandb_run_id.txt")
RUN_DIRS = ("samples", "wandb", "logs", "lightning_logs")


class RunDirError(ValueError):
    """``--out`` holds another run, another training is writing there, or it cannot be written."""


LOCK_FILE = ".texnet.lock"


def _is_child_rank() -> bool:
    """A DDP process other than rank 0 (Lightning starts them with LOCAL_RANK set; torchrun sets RANK):
    rank 0 owns the run folder, the others only write what Lightning has them write."""
    return any(int(os.environ.get(v, "0") or 0) > 0 for v in ("LOCAL_RANK", "RANK"))


class RunDir:
    """The run folder of one training (``--out``), made safe before any work starts.

    :meth:`open` locks it against a second training at the same time, refuses it when it holds a run
    unless resuming (``resume``) or replacing it (``overwrite``: the old run's files are removed first,
    so two runs never mix), and so also checks that it can be written. After a failure, :meth:`discard`
    removes what a fresh run made there if it never saved a checkpoint: a failed start leaves the folder
    as it found it.
    """

    def __init__(self, out: str | os.PathLike, resume: bool, overwrite: bool):
        self.out, self.resume, self.overwrite = Path(out), resume, overwrite
        self._fd: int | None = None
        self._made: bool = False
        self._before: set[str] = set()

    def open(self) -> "RunDir":
        out = self.out
        if out.exists() and not out.is_dir():
            raise RunDirError(f"--out {out}: exists and is not a directory")
        self._made = not out.exists()
        try:
            out.mkdir(parents=True, exist_ok=True)
            self._lock()
        except OSError as e:
            self._remove_made()
            raise RunDirError(f"--out {out}: cannot write there ({e.strerror or e})") from None
        self._before = {p.name for p in out.iterdir()}
        try:
            self._check_held()
        except RunDirError:
            self.close()
            raise
        return self

    def _lock(self) -> None:
        import fcntl

        path = self.out / LOCK_FILE
        while True:
            fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pid = os.read(fd, 32).decode(errors="replace").strip()
                os.close(fd)
                raise RunDirError(f"--out {self.out}: another training is writing there"
                                  f"{f' (process {pid})' if pid else ''}; wait for it or use another --out") from None
            try:  # the holder before us may have removed the file after we opened it: lock the current one
                same = os.fstat(fd).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def _check_held(self) -> None:
        out = self.out
        held = sorted(out.glob("*.ckpt"), key=lambda p: p.name != "last.ckpt")
        if not held or self.resume:
            return
        if not self.overwrite:
            raise RunDirError(f"--out {out}: holds a run ({held[0].name}); resume it with --ckpt_path "
                              f"{held[0]}, or add --overwrite to replace it")
        for pattern in RUN_FILES:
            for f in out.glob(pattern):
                f.unlink()
        for d in RUN_DIRS:
            if (out / d).is_dir():
                shutil.rmtree(out / d)
        self._before = {p.name for p in out.iterdir()}

    def discard(self) -> None:
        """After a failure: remove what this run added if it saved no checkpoint (a fresh run only)."""
        if self._fd is None or self.resume or any(self.out.glob("*.ckpt")):
            return
        for p in self.out.iterdir():
            if p.name not in self._before and p.name != LOCK_FILE:
                shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
        self._remove_made()

    def _remove_made(self) -> None:
        if self._made and self.out.is_dir() and {p.name for p in self.out.iterdir()} <= {LOCK_FILE}:
            self.close()
            shutil.rmtree(self.out, ignore_errors=True)

    def close(self) -> None:
        """Unlock (the lock file goes: a waiting training checks it still locks the file there)."""
        if self._fd is not None:
            try:
                os.unlink(self.out / LOCK_FILE)
            except FileNotFoundError:
                pass
            os.close(self._fd)
            self._fd = None


def prepare_run_dir(out: str | os.PathLike, resume: bool, overwrite: bool) -> RunDir:
    """Open ``out`` as the run folder of a training (see :class:`RunDir`); child DDP ranks only get the object."""
    run = RunDir(out, resume, overwrite)
    return run if _is_child_rank() else run.open()


# the run folder of the training in progress in this process (main() unlocks it, or discards a failed start)
_RUN: list[RunDir] = []


class StopWatch(pl.Callback):
    """Remembers a Ctrl-C: Lightning ends the run with ``sys.exit(1)`` after one, which :func:`main` turns
    into one line and status 130 (a SIGTERM it ends with ``SIGTERMException``, a ``SystemExit(0)``)."""

    interrupted = False

    def on_exception(self, trainer, module, exception) -> None:
        if isinstance(exception, KeyboardInterrupt):
            StopWatch.interrupted = True


class TexnetCLI(LightningCLI):
    @staticmethod
    def subcommands() -> dict[str, set[str]]:
        return {k: v for k, v in LightningCLI.subcommands().items() if k in OFFERED}

    def add_arguments_to_parser(self, parser) -> None:
        parser.add_argument("--out", default="runs/default", help="run directory (checkpoints, samples, W&B)")
        parser.add_argument("--wandb", default="offline", choices=["offline", "online", "off"],
                            help="Weights & Biases: offline (default, no account needed), online, or off")
        parser.add_argument("--threads", type=int | None, default=None, help="torch CPU threads (default: torch's)")
        parser.add_argument("--overwrite", action=ActionYesNo, default=False,
                            help="replace the run already in --out (default: refuse it unless --ckpt_path resumes it)")
        parser.add_lightning_class_args(SpectrumCalibration, "calibrate")
        parser.add_lightning_class_args(SampleLogger, "samples")
        parser.add_lightning_class_args(BaselineComparison, "compare")
        parser.set_defaults({"compare.enabled": True})
        # the baseline's settings, as synthesize.py optimize reads them from the same config files
        parser.add_class_arguments(OptimizeConfig, "optimize")

    def parse_arguments(self, parser, args) -> None:
        super().parse_arguments(parser, args)
        cfg = self.config[self.config["subcommand"]] if self.config.get("subcommand") else self.config
        if cfg.get("ckpt_path"):
            # before _parse_ckpt_path (below) reads its settings into the config, and before any work:
            # weights-only, a texnet checkpoint, settings this version can rebuild; one line otherwise
            from .inference import check_checkpoint, old_defaults, without_removed

            hparams = check_checkpoint(cfg["ckpt_path"])["hyper_parameters"]
            # Lightning fills the settings a checkpoint does not name from the config: those whose default
            # changed since it was written go back to the value it trained with (before_instantiate_classes)
            self._resumed_defaults = old_defaults(hparams)
            # Lightning's own reading drops its '_instantiator' too; texnet never writes '_class_path' (no
            # subclass mode: the module saves an explicit dict of settings)
            self._resumed_hparams = {k: v for k, v in without_removed(hparams).items() if k != "_instantiator"}

    def _parse_ckpt_path(self) -> None:
        # Lightning's own reads the checkpoint's settings into the config as they are, options this version has
        # removed included, which the parser refuses: the checked copy from parse_arguments goes in instead (were
        # Lightning to rename this hook, its own would run: such checkpoints would be refused as before, no worse)
        hparams = getattr(self, "_resumed_hparams", None)
        if hparams is None or not self.config.get("subcommand"):
            return super()._parse_ckpt_path()
        self.config = self.parser.parse_object({self.config.subcommand: {"model": hparams}}, self.config)

    def before_instantiate_classes(self) -> None:
        cfg = self.config[self.subcommand] if self.subcommand else self.config
        for key, value in getattr(self, "_resumed_defaults", {}).items():
            if cfg[f"model.{key}"] != value:  # one line: a value given for it is not used
                print(f"{prog()}: the checkpoint predates model.{key}: resuming with the value it trained with, "
                      f"{value!r} (not {cfg[f'model.{key}']!r})", file=sys.stderr)
            cfg[f"model.{key}"] = value
        out = cfg.get("out")
        threads = cfg.get("threads")
        if threads is not None and threads < 1:
            raise ValueError(f"--threads must be >= 1, got {threads}")
        if self.subcommand in (None, "fit"):
            _RUN.append(prepare_run_dir(out, resume=bool(cfg.get("ckpt_path")), overwrite=bool(cfg.get("overwrite"))))
        cfg["trainer"]["default_root_dir"] = out
        if threads:
            torch.set_num_threads(int(threads))

    def instantiate_trainer(self, **kwargs):
        if hasattr(self.datamodule, "check"):
            # the inputs loaded and checked against the model's loss before the Trainer exists: a bad
            # recording or setting fails in one line, before any work and before Lightning's messages
            self.datamodule.check(self.model)
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
        kwargs["callbacks"] = [FinalCheckpoint(Path(out) / "last.ckpt"), LossHistory(out), StopWatch(), *given,
                               *kwargs.get("callbacks", []), *extra]
        optimize = cfg.get("optimize")
        # the configured comparison (--compare.*) is not among kwargs' callbacks: LightningCLI adds it later
        for cb in [cfg.get("compare"), *kwargs["callbacks"]]:
            if isinstance(cb, BaselineComparison):
                if self.subcommand in (None, "fit"):  # where it runs: at the end of a training
                    cb.check(self.model)  # before any work, as the data's check above
                if optimize is not None:  # the baseline compared with runs as the config's optimize section says
                    cb.optimize = optimize if isinstance(optimize, OptimizeConfig) else OptimizeConfig(**dict(optimize))
        trainer = super().instantiate_trainer(**kwargs)
        # LightningCLI appends the configured callbacks (calibrate, samples, compare) last; the calibration goes
        # first, so that the final checkpoint, the samples and the comparison hold the calibrated generator
        trainer.callbacks.sort(key=lambda cb: not isinstance(cb, SpectrumCalibration))
        return trainer


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
    from argparse import ArgumentError

    from lightning_fabric.utilities.exceptions import MisconfigurationException

    for message in QUIET:
        warnings.filterwarnings("ignore", message=message)
    # the seed is the config's (seed_everything): saying so on every run only adds a line before any error
    logging.getLogger("lightning_fabric.utilities.seed").addFilter(lambda r: "Seed set to" not in r.getMessage())
    argv = list(sys.argv[1:] if argv is None else argv)
    if not any(a in SUBCOMMANDS for a in argv) and not any(a in ("-h", "--help") for a in argv):
        argv = ["fit", *argv]
    sys.argv = [sys.argv[0], *argv]  # LightningCLI reads sys.argv; "fit" is the default subcommand
    _RUN.clear()
    StopWatch.interrupted = False
    try:
        _run_cli()
    except (ValueError, OSError, ArgumentError, MisconfigurationException, KeyboardInterrupt) as e:
        # AudioError, CheckpointError and RunDirError are ValueErrors; ArgumentError: jsonargparse's;
        # MisconfigurationException: Lightning's refusal of a trainer setting (max_steps, accelerator)
        for run in _RUN:
            run.discard()
        if os.environ.get("TEXNET_TRACEBACK"):
            raise
        if isinstance(e, KeyboardInterrupt):  # before the Trainer ran (Lightning handles it inside fit)
            print(f"{prog()}: interrupted", file=sys.stderr)
            sys.exit(130)
        print(f"{prog()}: error: {_one_line(e)}", file=sys.stderr)
        sys.exit(2)
    except SystemExit as e:
        from pytorch_lightning.utilities.exceptions import SIGTERMException

        if not (StopWatch.interrupted or isinstance(e, SIGTERMException)):
            raise  # --help, --print_config
        for run in _RUN:
            run.discard()
        how, status = ("SIGTERM", 143) if isinstance(e, SIGTERMException) else ("Ctrl-C", 130)
        print(f"{prog()}: stopped by {how}{_resume_hint()}", file=sys.stderr)
        sys.exit(status)
    finally:
        for run in _RUN:
            run.close()


def _resume_hint() -> str:
    """Where a stopped training can go on from: its last checkpoint, if it saved one."""
    last = [r.out / "last.ckpt" for r in _RUN if (r.out / "last.ckpt").is_file()]
    if not last:
        return ": no checkpoint was saved"
    try:
        step = f" (step {torch.load(last[0], map_location='cpu', weights_only=True)['global_step']})"
    except Exception:  # noqa: BLE001 - only a detail of the message
        step = ""
    return f"; {last[0]}{step} resumes it: --ckpt_path {last[0]}"


def _one_line(e: BaseException) -> str:
    """An exception's message as one line: jsonargparse's span several (key, then reason), so they are
    joined; anything else keeps its first line."""
    from argparse import ArgumentError

    text = str(e).strip()
    if not text:
        return type(e).__name__
    if isinstance(e, ArgumentError):
        text = " ".join(text.split())
        if len(text) > 400:
            text = text[:400] + " ..."
        return f"{text} ({prog()} --help lists the options)"
    return text.splitlines()[0]


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
        parser_kwargs={"exit_on_error": False},  # errors raised, so main() prints them in one line
    )
