"""LightningModule: train a generator against the texture loss (the baseline's exact objective)."""
from __future__ import annotations

import logging
import math
from dataclasses import asdict

import pytorch_lightning as pl
import torch

from .descriptors import DescriptorConfig
from .frontends import FrontendConfig, build_frontend
from .generators import GeneratorConfig, build_generator
from .inference import CHECKPOINT_FORMAT
from .loss import ObjectiveConfig, build_objective, normalised_weights
from .synthesizer import Synthesizer

log = logging.getLogger(__name__)


class TextureModule(pl.LightningModule):
    """A generator (inside its :class:`~texnet.synthesizer.Synthesizer`) and the frozen texture loss.

    Every training step renders the batch through the synthesiser and takes the loss of the renders with
    the style statistics pooled over the batch (:func:`texnet.loss.pool_batch`); there is no branch per
    generator kind. The targets arrive from the data module (:meth:`set_targets`).

    Args:
        frontend, descriptor, objective, generator: the typed configs (defaults: the recommended recipe);
            saved as plain dicts in the checkpoint so :func:`texnet.inference.load_generator` rebuilds
            the generator and front end without running code from the checkpoint.
        lr: Adam learning rate; cosine-annealed to ``lr * lr_final_ratio`` over ``schedule_steps`` steps
            (default ``trainer.max_steps``).
    """

    def __init__(
        self,
        frontend: FrontendConfig = FrontendConfig(),
        descriptor: DescriptorConfig = DescriptorConfig(),
        objective: ObjectiveConfig = ObjectiveConfig(),
        generator: GeneratorConfig = GeneratorConfig(),
        lr: float = 2e-3,
        lr_final_ratio: float = 0.05,
        schedule_steps: int | None = None,
    ):
        super().__init__()
        as_dict = lambda c: c if isinstance(c, dict) else asdict(c)  # noqa: E731 - checkpoints reload dicts
        self.save_hyperparameters({
            "frontend": as_dict(frontend), "descriptor": as_dict(descriptor), "objective": as_dict(objective),
            "generator": as_dict(generator), "lr": lr, "lr_final_ratio": lr_final_ratio,
            "schedule_steps": schedule_steps,
        })
        self.fe_cfg = FrontendConfig(**self.hparams.frontend)
        self.obj_cfg = ObjectiveConfig(**self.hparams.objective)
        self.frontend = build_frontend(self.fe_cfg)
        self.generator = build_generator(self.frontend.n_freq, GeneratorConfig(**self.hparams.generator))
        self.synth = Synthesizer(self.generator, self.frontend, DescriptorConfig(**self.hparams.descriptor),
                                 dict(self.hparams))
        self.loss = build_objective(self.frontend, self.synth.descriptor_config, self.obj_cfg, self.synth.domain)
        self.reference_style: float = math.nan
        self._targets_ready = False

    @property
    def sample_rate(self) -> int:
        return self.fe_cfg.sample_rate

    def min_samples(self) -> int:
        """The shortest crop the loss can judge."""
        return self.loss.min_samples()

    @torch.no_grad()
    def set_targets(self, style_waves: list[torch.Tensor], weights: list[float] | None = None) -> None:
        """Style targets from waveforms ``(samples,)``; an untrained generator starts at their mean spectrum."""
        device = self.device
        style_waves = [w.to(device) for w in style_waves]
        self.loss.set_target(style_waves, weights)
        if not self._targets_ready and self.global_step == 0:
            self.synth.set_start(style_waves, normalised_weights(weights, len(style_waves)).to(device))
        self._targets_ready = True

    def _step_losses(self, batch: torch.Tensor, seeds: list[int]):
        """The loss terms of the renders for a batch of crops ``(batch, samples)``, pooled over the batch."""
        renders, content = self.synth.render(batch, seeds)
        return self.loss(renders, pooled=True, content=content)

    def training_step(self, batch: torch.Tensor, batch_idx: int):
        if not self._targets_ready:
            raise RuntimeError("no targets: the data module hands them over in its setup (TextureDataModule)")
        # noise seeds are a function of the step (a resumed run repeats exactly what an uninterrupted one
        # does) and of the crop's place in the global batch (under DDP, rank r holds crops r*B .. r*B+B-1)
        b = batch.shape[0]
        seeds = [1_000_003 * (self.global_step + 1) + self.global_rank * b + i for i in range(b)]
        terms = self._step_losses(batch, seeds)
        total = terms.total.mean()
        if not torch.isfinite(total):
            # NaN guard: skip this step (Lightning skips the optimiser when None is returned)
            log.warning("non-finite loss at step %d: step skipped", self.global_step)
            self.log("train/skipped", 1.0, reduce_fx="sum")
            return None
        self.log_dict({"train/loss": total, "train/style": terms.style.mean()}, prog_bar=True)
        self.log_dict({f"train/{k}": v.mean() for k, v in (terms.parts or {}).items()})
        if self.synth.is_style:
            self.log("train/content", terms.content.mean())
        if self.obj_cfg.diversity_weight:
            self.log("train/diversity", terms.diversity)
        return total

    def validation_step(self, batch: torch.Tensor, batch_idx: int):
        # fixed seeds: validation losses are comparable across steps
        b = batch.shape[0]
        terms = self._step_losses(batch, [self.global_rank * b + i for i in range(b)])
        with torch.no_grad():
            real = self.loss(self.loss.input_of(batch.float()), pooled=True).style.mean()
        # pooled over every rank already: sync_dist only averages equal values (and tells Lightning so)
        self.log_dict({"val/style": terms.style.mean(), "val/loss": terms.total.mean(), "val/real_style": real},
                      prog_bar=True, sync_dist=True)
        self.reference_style = float(real)

    def audio_style(self, wave: torch.Tensor) -> torch.Tensor:
        """Style loss ``(batch,)`` of audio ``(batch, samples)`` by the objective this module trains on."""
        return self.loss(self.loss.input_of(wave)).style

    def configure_optimizers(self):
        opt = torch.optim.Adam(self.generator.parameters(), lr=self.hparams.lr)
        total = self.hparams.schedule_steps
        if not total:
            total = self.trainer.max_steps if self.trainer.max_steps and self.trainer.max_steps > 0 else 10_000
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total, eta_min=self.hparams.lr * self.hparams.lr_final_ratio)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["texnet_format"] = CHECKPOINT_FORMAT  # lets loaders tell our checkpoints from others

    def state_dict(self, *args, **kwargs):
        # only the generator is learned; front end and descriptors are rebuilt from the hyperparameters
        sd = super().state_dict(*args, **kwargs)
        return {k: v for k, v in sd.items() if k.startswith("generator.")}

    def load_state_dict(self, state_dict, strict: bool = True, **kwargs):
        sd = {k: v for k, v in state_dict.items() if k.startswith("generator.")}
        return self.generator.load_state_dict({k[len("generator."):]: v for k, v in sd.items()}, strict=strict)
