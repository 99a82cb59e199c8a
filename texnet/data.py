"""LightningDataModule: the target recording(s), random training crops, fixed held-out validation crops.

The data module owns the targets: its ``setup`` loads the recordings at the model's sample rate and hands
them to the model (``set_targets``), after checking that a crop is long enough for the model's loss.
"""
from __future__ import annotations

import logging

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from .audio import DEFAULT_SAMPLE_RATE, load_audio

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
        train_fraction: the first fraction of each recording is the target; the rest is held out, and
            validation compares the generator with real held-out crops (1.0: no held-out part, validation
            uses crops of the target itself).
        crop_seconds: length of training crops (content crops in style mode; sets the generated length).
        batch_size: crops per step.
        steps_per_epoch: dataset length in batches (an "epoch" is only a logging unit here).
        val_crops: number of fixed validation crops.
    """

    def __init__(
        self,
        audio: list[str] | str = ["data/rain.ogg"],  # noqa: B006 - LightningCLI needs a literal default
        weights: list[float] | None = None,
        content: list[str] | None = None,
        train_fraction: float = 1.0,
        crop_seconds: float = 1.5,
        batch_size: int = 4,
        steps_per_epoch: int = 100,
        val_crops: int = 4,
    ):
        super().__init__()
        audio = [audio] if isinstance(audio, str) else list(audio)  # --data.audio my.wav works without brackets
        if not audio:
            raise ValueError("data.audio needs at least one recording")
        if weights is not None and len(weights) != len(audio):
            raise ValueError(f"data.weights has {len(weights)} values for {len(audio)} recordings")
        if not 0.1 <= train_fraction <= 1.0:
            raise ValueError(f"train_fraction must be in [0.1, 1], got {train_fraction}")
        self.save_hyperparameters()
        self.audio, self.weights, self.content_paths = list(audio), weights, content
        self.train_fraction, self.crop_seconds = train_fraction, crop_seconds
        self.sample_rate = DEFAULT_SAMPLE_RATE  # the model's, once attached to a trainer (setup)
        self.batch_size, self.steps_per_epoch, self.val_crops = batch_size, steps_per_epoch, val_crops
        self.style_waves: list[torch.Tensor] = []
        self.heldout_waves: list[torch.Tensor] = []
        self.content_waves: list[torch.Tensor] = []

    @property
    def crop_samples(self) -> int:
        return int(round(self.crop_seconds * self.sample_rate))

    def setup(self, stage: str | None = None) -> None:
        """Load the recordings (once) and hand the targets to the trainer's model."""
        model = self.trainer.lightning_module if self.trainer is not None else None
        if model is not None and hasattr(model, "sample_rate"):
            self.sample_rate = int(model.sample_rate)
            need = model.min_samples()
            if self.crop_samples < need:
                raise ValueError(f"data.crop_seconds ({self.crop_seconds:g} s) is shorter than the loss's receptive "
                                 f"field ({need / self.sample_rate:.2f} s): raise crop_seconds")
        if not self.style_waves:
            self._load()
        if model is not None and hasattr(model, "set_targets"):
            model.set_targets(self.style_waves, self.weights)

    def _load(self) -> None:
        for path in self.audio:
            w = load_audio(path, self.sample_rate, min_samples=self.crop_samples)
            cut = int(w.shape[-1] * self.train_fraction)
            self.style_waves.append(w[:cut])
            self.heldout_waves.append(w[cut:] if self.train_fraction < 1.0 else w)
        for path in self.content_paths or []:
            self.content_waves.append(load_audio(path, self.sample_rate, min_samples=self.crop_samples))

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
                             f"({self.crop_samples}); lower crop_seconds or raise train_fraction")
        starts = torch.linspace(0, source.shape[-1] - self.crop_samples, n).long()
        crops = torch.stack([source[s: s + self.crop_samples] for s in starts])
        return DataLoader(crops, batch_size=n, shuffle=False)
