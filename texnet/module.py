"""LightningModule: train a generator against the shared objective (the baseline's exact loss)."""
from __future__ import annotations

import logging
import math
from dataclasses import asdict
from typing import NamedTuple

import pytorch_lightning as pl
import torch
from torch import nn

from .descriptors import DescriptorConfig, build_descriptor
from .frontends import FrontendConfig, build_frontend
from .generators import GeneratorConfig, StyleGenerator, TextureGenerator, WaveformGenerator, build_generator
from .objectives import ObjectiveConfig, StyleMemory, TextureObjective, consistency_loss, diversity_loss
from .wave_objective import WaveObjective

from .inference import CHECKPOINT_FORMAT

log = logging.getLogger(__name__)


class StepLosses(NamedTuple):
    """One step's loss terms (scalars): ``total`` is what is minimised."""

    total: torch.Tensor
    style: torch.Tensor
    content: torch.Tensor
    diversity: torch.Tensor
    consistency: torch.Tensor


class TextureModule(pl.LightningModule):
    """Generator + frozen front end, descriptor and objective.

    Args:
        frontend, descriptor, objective, generator: the typed configs; all are saved as plain dicts in
            the checkpoint's hyperparameters so :func:`texnet.inference.load_generator` can rebuild the
            exact generator, front end and descriptor without running code from the checkpoint.
        lr: Adam learning rate; cosine-annealed to ``lr * lr_final_ratio`` over ``schedule_steps`` steps
            (default ``trainer.max_steps``).
        diversity_weight: weight of the Improved-Texture-Networks diversity term (0: off).
        pool_batch: style statistics of the whole batch of crops at once (default) instead of the mean
            of per-crop losses, which trains smooth, eventless textures (see
            :func:`texnet.objectives.pool_batch`).
        style_memory: share of the training style statistics taken from their running estimate over
            earlier steps (0: this batch only); the batch weighs ``1 - style_memory``. Needs
            ``pool_batch``. See :class:`texnet.objectives.StyleMemory`.
        consistency_weight: waveform generators: weight of the squared spectral convergence between the
            STFT the generator emits and that of its audio (:func:`texnet.objectives.consistency_loss`),
            against phase cancellation between overlapping frames.
    """

    def __init__(
        self,
        frontend: FrontendConfig = FrontendConfig(),
        descriptor: DescriptorConfig = DescriptorConfig(),
        objective: ObjectiveConfig = ObjectiveConfig(),
        generator: GeneratorConfig = GeneratorConfig(),
        lr: float = 2e-3,
        lr_final_ratio: float = 0.05,
        diversity_weight: float = 0.0,
        schedule_steps: int | None = None,
        pool_batch: bool = True,
        style_memory: float = 0.0,
        consistency_weight: float = 0.0,
    ):
        super().__init__()
        as_dict = lambda c: c if isinstance(c, dict) else asdict(c)  # noqa: E731 - checkpoints reload dicts
        self.save_hyperparameters({
            "frontend": as_dict(frontend), "descriptor": as_dict(descriptor), "objective": as_dict(objective),
            "generator": as_dict(generator), "lr": lr, "lr_final_ratio": lr_final_ratio,
            "diversity_weight": diversity_weight, "schedule_steps": schedule_steps,
            "pool_batch": pool_batch, "style_memory": style_memory, "consistency_weight": consistency_weight,
        })
        if style_memory and not pool_batch:
            raise ValueError("style_memory needs pool_batch: the running statistics are those of whole batches")
        self.fe_cfg = FrontendConfig(**self.hparams.frontend)
        self.desc_cfg = DescriptorConfig(**self.hparams.descriptor)
        self.obj_cfg = ObjectiveConfig(**self.hparams.objective)
        self.gen_cfg = GeneratorConfig(**self.hparams.generator)
        self.frontend = build_frontend(self.fe_cfg)
        self.objective = TextureObjective(build_descriptor(self.frontend.n_freq, self.desc_cfg), self.obj_cfg)
        self.generator = build_generator(self.frontend.n_freq, self.gen_cfg, self.frontend.hop_length)
        if self.obj_cfg.auditory_weight and not self.is_waveform:
            raise ValueError("objective.auditory_weight judges audio: it needs a waveform generator (generator.kind: waveform)")
        # a waveform generator is judged on its audio, at the objective's STFT resolutions if it lists any
        self.wave_objective = (WaveObjective.build(self.frontend, self.objective)
                               if self.is_waveform else None)
        n_memories = self.wave_objective.n_resolutions if self.wave_objective is not None else 1
        self.style_memories = (nn.ModuleList(StyleMemory(style_memory) for _ in range(n_memories))
                               if style_memory else None)
        self.reference_style: float = math.nan
        self._targets_ready = False

    @property
    def pooled_style(self) -> bool:
        """Whether training takes the style of the batch pooled (checkpoints from before the option: per crop)."""
        return bool(self.hparams.get("pool_batch", False))

    @property
    def consistency_weight(self) -> float:
        """Weight of the STFT consistency term (0 for checkpoints from before the option)."""
        return float(self.hparams.get("consistency_weight", 0.0))

    @property
    def is_style(self) -> bool:
        return isinstance(self.generator, StyleGenerator)

    # ---- targets -------------------------------------------------------------------------------
    def setup(self, stage: str) -> None:
        dm = getattr(self.trainer, "datamodule", None) if self._trainer is not None else None
        if dm is None or self._targets_ready:
            return
        dm.min_samples = self.frontend.samples_for_frames(self.objective.receptive_field)
        if self.wave_objective is not None:
            dm.min_samples = max(dm.min_samples, self.wave_objective.min_samples())
        if dm.crop_samples < dm.min_samples:
            raise ValueError(f"data.crop_seconds ({dm.crop_samples / dm.sample_rate:.2f} s) is shorter than the "
                             f"objective's receptive field ({dm.min_samples / dm.sample_rate:.2f} s): raise crop_seconds")
        dm.setup(stage)
        if dm.sample_rate != self.fe_cfg.sample_rate:
            raise ValueError(f"data.sample_rate {dm.sample_rate} != model.frontend.sample_rate {self.fe_cfg.sample_rate}")
        self.set_targets(dm.style_waves, dm.weights)

    @torch.no_grad()
    def set_targets(self, style_waves: list[torch.Tensor], weights: list[float] | None = None) -> None:
        """Style targets from waveforms ``(samples,)``; starts the generator at their mean spectrum."""
        specs = [self.frontend(w)[0] for w in style_waves]
        self.objective.set_style(specs, weights)
        if self.wave_objective is not None and self.wave_objective.owns_targets:
            self.wave_objective.set_style(style_waves, weights)
        w = torch.ones(len(specs)) if weights is None else torch.as_tensor(weights, dtype=torch.float32)
        mean = sum(wi * s.mean(-1) for wi, s in zip(w / w.sum(), specs))
        if not self._targets_ready and self.global_step == 0:
            # a waveform generator's last layer makes linear magnitudes, the others log-magnitudes
            self.generator.set_output_bias(self.frontend.to_magnitude(mean) if self.is_waveform else mean)
        self._targets_ready = True

    # ---- generation ----------------------------------------------------------------------------
    @property
    def is_waveform(self) -> bool:
        return isinstance(self.generator, WaveformGenerator)

    def log_spec(self, out: torch.Tensor) -> torch.Tensor:
        """The log-magnitude the objective sees for a generator output: the output itself, or for a
        waveform generator the spectrogram of its audio (re-analysed through the differentiable STFT)."""
        if self.is_waveform:
            return self.frontend.to_log(self.frontend.magnitude(self.frontend.istft(out)))
        return out

    def audio_style(self, wave: torch.Tensor, pooled: bool = False) -> torch.Tensor:
        """Style loss ``(batch,)`` (or pooled ``(1,)``) of audio ``(batch, samples)`` by the objective
        this module trains on."""
        if self.wave_objective is not None:
            return self.wave_objective.style(wave, pooled)
        spec = self.frontend(wave)
        return self.objective.style_from_acts(self.objective.descriptor(spec), spec, pooled=pooled)

    def generate_specs(self, n_frames: int, seeds: list[int], content: torch.Tensor | None = None) -> torch.Tensor:
        """``(len(seeds), freq, n_frames)`` from the texture generator, or the stylised ``content``."""
        if self.is_style:
            return self.generator(content, seed=seeds[0])
        return self.log_spec(self.generator(self.generator.make_noise(n_frames, seeds)))

    @torch.no_grad()
    def generate_wave(self, n_frames: int, seed: int, n_iter: int | None = None) -> torch.Tensor:
        """``(samples,)`` audio: one inverse STFT for a waveform generator, else Griffin-Lim."""
        out = self.generator(self.generator.make_noise(n_frames, [seed]))
        if self.is_waveform:
            return self.frontend.istft(out)[0]
        return self.frontend.inverse(out.float(), n_iter=n_iter, seed=seed)[0]

    def _spectrograms(self, waves: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.frontend(waves.float())

    def _losses(self, batch: torch.Tensor, seeds: list[int], memories: nn.ModuleList | None = None):
        """Losses of the generator's output for ``batch`` ``(batch, samples)``; ``memories`` (training
        steps only) merge the style statistics with their running estimate."""
        pooled = self.pooled_style
        consistency = torch.zeros((), device=batch.device)
        # texture mode needs no spectrogram of the real crops
        spec = self._spectrograms(batch) if self.is_style else None
        if self.is_style:
            x = self.generator(spec, seed=seeds[0])
            acts = self.objective.descriptor(x)
            with torch.no_grad():
                target_acts = self.objective.descriptor(spec)
            content = self.objective.content_from_acts(acts, [target_acts[i] for i in self.objective.content_layers])
        elif self.wave_objective is not None:
            n_frames = self.frontend.frames_for_samples(batch.shape[-1])
            frames = self.generator(self.generator.make_noise(n_frames, seeds))
            x = self.frontend.istft(frames)
            style, acts = self.wave_objective.style_and_acts(x, pooled, memories)
            if self.consistency_weight:
                consistency = consistency_loss(frames, self.frontend.magnitude(x)).mean()
            content = torch.zeros(x.shape[0], device=x.device)
        else:
            n_frames = self.frontend.frames_for_samples(batch.shape[-1])
            x = self.generator(self.generator.make_noise(n_frames, seeds))
            acts = self.objective.descriptor(x)
            content = torch.zeros(x.shape[0], device=x.device)
        if self.wave_objective is None:
            style = self.objective.style_from_acts(acts, x, pooled=pooled, memory=None if memories is None else memories[0])
        total = self.obj_cfg.style_weight * style.mean()
        if self.is_style:
            total = total + self.obj_cfg.content_weight * content.mean()
        div = diversity_loss(acts) if self.hparams.diversity_weight > 0 else x.new_zeros(())
        total = total + self.hparams.diversity_weight * div
        if self.consistency_weight:
            total = total + self.consistency_weight * consistency
        return StepLosses(total, style.mean(), content.mean(), div, consistency)

    def training_step(self, batch: torch.Tensor, batch_idx: int):
        # noise seeds are a function of the step, so a resumed run repeats exactly what an uninterrupted one does
        seeds = [1_000_003 * (self.global_step + 1) + i for i in range(batch.shape[0])]
        total, style, content, div, consistency = self._losses(batch, seeds, self.style_memories)
        if not torch.isfinite(total):
            # NaN guard: skip this step (Lightning skips the optimiser when None is returned)
            log.warning("non-finite loss at step %d: step skipped", self.global_step)
            for memory in self.style_memories or []:  # its running statistics took this step's NaNs in
                memory.reset()
            self.log("train/skipped", 1.0, reduce_fx="sum")
            return None
        self.log_dict({"train/loss": total, "train/style": style}, prog_bar=True)
        if self.is_style:
            self.log("train/content", content)
        if self.hparams.diversity_weight > 0:
            self.log("train/diversity", div)
        if self.consistency_weight:
            self.log("train/consistency", consistency)
        return total

    def validation_step(self, batch: torch.Tensor, batch_idx: int):
        # fixed seeds: validation losses are comparable across steps
        seeds = list(range(batch.shape[0]))
        total, style, content, _, _ = self._losses(batch, seeds)
        with torch.no_grad():
            real = self.audio_style(batch.float(), pooled=self.pooled_style).mean()
        self.log_dict({"val/style": style, "val/loss": total, "val/real_style": real}, prog_bar=True)
        self.reference_style = float(real)

    def configure_optimizers(self):
        opt = torch.optim.Adam(self.generator.parameters(), lr=self.hparams.lr)
        total = self.hparams.schedule_steps
        if not total:
            total = self.trainer.max_steps if self.trainer.max_steps and self.trainer.max_steps > 0 else 10_000
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total, eta_min=self.hparams.lr * self.hparams.lr_final_ratio)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["texnet_format"] = CHECKPOINT_FORMAT  # lets loaders tell our checkpoints from others
        if self.style_memories is not None:  # a resumed run goes on from the same running statistics
            checkpoint["texnet_style_memory"] = [m.state() for m in self.style_memories]

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        states = checkpoint.get("texnet_style_memory")
        if self.style_memories is not None and states is not None:
            for memory, state in zip(self.style_memories, states):
                memory.load(state)

    def state_dict(self, *args, **kwargs):
        # only the generator is learned; front end and descriptor are rebuilt from the hyperparameters
        sd = super().state_dict(*args, **kwargs)
        return {k: v for k, v in sd.items() if k.startswith("generator.")}

    def load_state_dict(self, state_dict, strict: bool = True, **kwargs):
        sd = {k: v for k, v in state_dict.items() if k.startswith("generator.")}
        return self.generator.load_state_dict({k[len("generator."):]: v for k, v in sd.items()}, strict=strict)
