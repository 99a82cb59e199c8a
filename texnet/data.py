"""LightningDataModule: the target recording(s), random training crops, fixed validation crops.

The data module owns the targets: its ``setup`` loads the recordings at the model's sample rate and hands
them to the model (``set_targets``), after checking that a crop is long enough for the model's loss. The
whole of each recording is the target unless ``holdout`` keeps its end unseen (for honest measurement:
the end-of-training comparison then scores the generator against that part).
"""
from __future__ import annotations

import logging
import math

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from .audio import DEFAULT_SAMPLE_RATE, AudioError, load_audio
from .resources import resolve_clip

log = logging.getLogger(__name__)


class RandomCrops(Dataset):
    """``length`` random crops ``(samples,)`` of one waveform, a different one at every index."""

    def __init__(self, wave: torch.Tensor, crop_samples: int, length: int):
        if wave.shape[-1] < crop_samples:
            raise ValueError(f"clip of {wave.shape[-1]} samples is shorter than a crop ({crop_samples} samples)")
        self.wave, self.crop, self.length = wave, crop_samples, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> torch.Tensor:
        # seeded by the index: a resumed run sees the same crops as an uninterrupted one
        gen = torch.Generator().manual_seed(7919 * i + 17)
        start = int(torch.randint(0, self.wave.shape[-1] - self.crop + 1, (), generator=gen))
        return self.wave[start: start + self.crop]


class TextureDataModule(pl.LightningDataModule):
    """Style sources (and optionally a content corpus) for a generator.

    Args:
        audio: style/texture recordings; several make a multi-texture target mixed with ``weights``.
        weights: one mixing weight per recording (default equal).
        content: content recordings for a style-transfer generator (random crops of them are stylised).
        holdout: the fraction at the end of each recording kept unseen: validation and the end-of-training
            comparison measure the generator against it (0, the default: the whole recording is the target
            and validation uses crops of it; the benchmarks use 0.5).
        crop_seconds: length of training crops (content crops in style mode; sets the generated length).
        batch_size: crops per step.
        steps_per_epoch: dataset length in batches (an "epoch" is only a logging unit here).
        val_crops: number of fixed validation crops.
        train_fraction: the former name of ``1 - holdout``, accepted so old configs load (None: unused).
    """

    def __init__(
        self,
        audio: list[str] | str = ["data/rain.ogg"],  # noqa: B006 - LightningCLI needs a literal default
        weights: list[float] | None = None,
        content: list[str] | None = None,
        holdout: float = 0.0,
        crop_seconds: float = 3.2,
        batch_size: int = 4,
        steps_per_epoch: int = 100,
        val_crops: int = 4,
        train_fraction: float | None = None,
    ):
        super().__init__()
        audio = [audio] if isinstance(audio, str) else list(audio)  # --data.audio my.wav works without brackets
        if not audio:
            raise ValueError("data.audio needs at least one recording")
        if weights is not None and len(weights) != len(audio):
            raise ValueError(f"data.weights has {len(weights)} values for {len(audio)} recordings")
        if weights is not None and not (all(math.isfinite(w) and w >= 0 for w in weights) and sum(weights) > 0):
            raise ValueError(f"data.weights must be finite and non-negative with a positive sum, got {list(weights)}")
        if not (math.isfinite(crop_seconds) and crop_seconds > 0):
            raise ValueError(f"data.crop_seconds must be positive, got {crop_seconds}")
        for name, value in (("batch_size", batch_size), ("steps_per_epoch", steps_per_epoch), ("val_crops", val_crops)):
            if value < 1:
                raise ValueError(f"data.{name} must be >= 1, got {value}")
        if train_fraction is not None:  # old configs: the same split under its former name
            if holdout:
                raise ValueError("data.train_fraction and data.holdout both given: keep only data.holdout "
                                 "(the held-out fraction, 1 - train_fraction)")
            holdout = round(1.0 - train_fraction, 12)
            log.warning("data.train_fraction %g is now data.holdout %g (the fraction held out)", train_fraction, holdout)
        if not 0.0 <= holdout <= 0.9:
            raise ValueError(f"data.holdout must be in [0, 0.9] (the fraction of each clip held out), got {holdout}")
        self.save_hyperparameters(ignore=["train_fraction"])
        self.hparams["holdout"] = holdout  # the split used, also when an old config named it train_fraction
        self.audio, self.weights, self.content_paths = list(audio), weights, content
        self.holdout, self.crop_seconds = holdout, crop_seconds
        self.sample_rate = DEFAULT_SAMPLE_RATE  # the model's, once attached to a trainer (setup)
        self.min_crop_seconds: float | None = None  # the loss's receptive field, known in setup
        self._segments_hint = False  # the auditory segments set that receptive field (the errors then name them)
        self.batch_size, self.steps_per_epoch, self.val_crops = batch_size, steps_per_epoch, val_crops
        self.style_waves: list[torch.Tensor] = []
        self.heldout_waves: list[torch.Tensor] = []
        self.content_waves: list[torch.Tensor] = []

    @property
    def crop_samples(self) -> int:
        return int(round(self.crop_seconds * self.sample_rate))

    def check(self, model) -> None:
        """Load the recordings (once) at ``model``'s sample rate and check them against its loss: a crop long
        enough for it, every file usable, enough held-out audio. ``train.py`` calls it before the Trainer
        exists, so bad inputs fail before any work; :meth:`setup` calls it again (nothing is reloaded)."""
        if hasattr(model, "sample_rate"):
            self.sample_rate = int(model.sample_rate)
            need = model.min_samples()
            self.min_crop_seconds = need / self.sample_rate
            self._segments_hint = bool(getattr(getattr(model, "loss", None), "segments_set_min_samples", False))
            if self.crop_samples < need:
                raise ValueError(f"data.crop_seconds ({self.crop_seconds:g} s) is shorter than the loss's receptive "
                                 f"field ({need / self.sample_rate:.2f} s): raise crop_seconds"
                                 + (", or lower model.objective.auditory_segment_s (the auditory term's Welch segments)"
                                    if self._segments_hint else ""))
        if not self.style_waves:
            self._load()  # checks every clip's parts against a crop (one line each)

    def setup(self, stage: str | None = None) -> None:
        """Load the recordings (once) and hand the targets to the trainer's model."""
        model = self.trainer.lightning_module if self.trainer is not None else None
        if model is not None:
            self.check(model)
        elif not self.style_waves:
            self._load()
        if model is not None and hasattr(model, "set_targets"):
            model.set_targets(self.style_waves, self.weights)

    def min_seconds(self) -> float:
        """The shortest recording this data module can use: one crop in the target part, and one in the
        held-out part when there is one."""
        share = min(1.0 - self.holdout, self.holdout) if self.holdout else 1.0
        return self.crop_samples / self.sample_rate / share

    def _too_short(self, path, seconds: float, held_out: bool = True) -> AudioError:
        """The one-line error for a clip too short to train on: the length needed and what to change."""
        lower = "; a shorter --model.objective.auditory_segment_s lowers that" if self._segments_hint else ""
        crop = (f"a shorter --data.crop_seconds (the loss needs at least {self.min_crop_seconds:.2f} s{lower})"
                if self.min_crop_seconds else "a shorter --data.crop_seconds")
        if self.holdout and held_out:
            need = math.ceil(round(self.min_seconds() * 100, 6)) / 100  # rounded up to what is enough
            fix = (f"data.holdout {self.holdout:g} keeps {self.holdout:.0%} of it unseen: use a clip of at least "
                   f"{need:.2f} s, --data.holdout 0 to train on all of it, or {crop}")
        else:
            fix = f"use a clip of at least {self.crop_seconds:g} s or {crop}"
        return AudioError(path, f"{seconds:.2f} s is too short for training crops of {self.crop_seconds:g} s "
                                f"(data.crop_seconds): {fix}")

    def _load(self) -> None:
        for path in self.audio:
            path = resolve_clip(path)
            w = load_audio(path, self.sample_rate, verbose=True)
            # the target part: int(n * (1 - holdout)) samples, as texnet.experiments.split cuts it
            cut = int(w.shape[-1] * (1.0 - self.holdout))
            if cut < self.crop_samples or (self.holdout and w.shape[-1] - cut < self.crop_samples):
                raise self._too_short(path, w.shape[-1] / self.sample_rate)
            self.style_waves.append(w[:cut])
            self.heldout_waves.append(w[cut:] if self.holdout else w)
        for path in self.content_paths or []:
            path = resolve_clip(path)
            w = load_audio(path, self.sample_rate, verbose=True)
            if w.shape[-1] < self.crop_samples:
                raise self._too_short(path, w.shape[-1] / self.sample_rate, held_out=False)
            self.content_waves.append(w)

    def train_dataloader(self) -> DataLoader:
        # Texture mode: the crops only set the batch (the generator makes its own noise) and give real
        # excerpts to compare with; style mode: they are the content to stylise.
        source = torch.cat(self.content_waves) if self.content_waves else self.style_waves[0]
        ds = RandomCrops(source, self.crop_samples, self.steps_per_epoch * self.batch_size)
        return DataLoader(ds, batch_size=self.batch_size, shuffle=False, num_workers=0, drop_last=True)

    def val_dataloader(self) -> DataLoader:
        source = torch.cat(self.content_waves) if self.content_waves else self.heldout_waves[0]
        n = max(1, self.val_crops)
        if source.shape[-1] < self.crop_samples:
            raise ValueError(f"held-out audio ({source.shape[-1]} samples) is shorter than one crop "
                             f"({self.crop_samples}); lower data.crop_seconds or data.holdout")
        starts = torch.linspace(0, source.shape[-1] - self.crop_samples, n).long()
        crops = torch.stack([source[s: s + self.crop_samples] for s in starts])
        return DataLoader(crops, batch_size=n, shuffle=False)
