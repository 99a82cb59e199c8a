"""Lightning callbacks: audio + spectrogram samples during training, generator-vs-baseline at the end.

Everything is written to the run directory (``samples/``, ``comparison.json``/``.png``) and, when the
trainer logs to Weights & Biases, logged there too (audio, images, a comparison table). Without W&B the
files are still written.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

import pytorch_lightning as pl
import torch

from .audio import save_wav
from .reporting import save_figure, save_json, spectrogram_figure

log = logging.getLogger(__name__)


def _wandb_run(trainer: pl.Trainer):
    """The W&B run behind the trainer's loggers, or None."""
    for lg in trainer.loggers:
        if type(lg).__name__ == "WandbLogger":
            return lg.experiment
    return None


class SampleLogger(pl.Callback):
    """Every ``every_n_steps`` (and at the end) generate ``seconds`` of texture, invert it with
    ``n_iter`` Griffin-Lim iterations, save WAV + PNG under ``<run>/samples`` and log them to W&B."""

    def __init__(self, every_n_steps: int = 200, seconds: float = 5.0, n_iter: int = 32):
        self.every, self.seconds, self.n_iter = every_n_steps, seconds, n_iter

    def _sample(self, trainer: pl.Trainer, module, tag: str) -> None:
        if not trainer.is_global_zero or module.is_style:
            return
        out = Path(trainer.default_root_dir) / "samples"
        was_training = module.training
        module.eval()
        with torch.no_grad():
            n = module.frontend.frames_for_seconds(self.seconds)
            spec = module.generate_specs(n, [0])[0].float()
            wave = module.frontend.inverse(spec[None], n_iter=self.n_iter)[0].cpu()
        module.train(was_training)
        spec = spec.cpu()
        save_wav(out / f"{tag}.wav", wave, module.frontend.sample_rate, overwrite=True)
        fig = spectrogram_figure({f"generated ({tag})": spec}, module.frontend.frame_rate,
                                 module.frontend.frequencies())
        run = _wandb_run(trainer)
        if run is not None:
            import wandb

            run.log({"samples/audio": wandb.Audio(wave.numpy(), sample_rate=module.frontend.sample_rate, caption=tag),
                     "samples/spectrogram": wandb.Image(fig), "trainer/global_step": trainer.global_step})
        save_figure(fig, out / f"{tag}.png")

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        step = trainer.global_step
        if self.every > 0 and step > 0 and step % self.every == 0:
            self._sample(trainer, module, f"step{step:06d}")

    def on_train_end(self, trainer, module):
        self._sample(trainer, module, "final")


class BaselineComparison(pl.Callback):
    """At the end of training: the generator and the optimisation baseline make the same length of
    texture against the same objective; their style losses, wall times and audio are compared.

    ``time_budget`` caps the baseline's optimisation (seconds); ``max_iter`` its evaluations.
    """

    def __init__(self, seconds: float = 5.0, time_budget: float = 60.0, max_iter: int = 150, n_iter: int = 32,
                 enabled: bool = True):
        self.seconds, self.time_budget, self.max_iter, self.n_iter = seconds, time_budget, max_iter, n_iter
        self.enabled = enabled
        self.result: dict | None = None

    def on_train_end(self, trainer, module):
        if not self.enabled or not trainer.is_global_zero or module.is_style or trainer.datamodule is None:
            return
        from .optimize import OptimizeConfig, run_baseline

        dm = trainer.datamodule
        out = Path(trainer.default_root_dir)
        fe = module.frontend
        n = fe.frames_for_seconds(self.seconds)
        module.eval()
        objective = module.objective
        with torch.no_grad():
            t0 = time.perf_counter()
            spec = module.generate_specs(n, [0])[0].float()
            t_fwd = time.perf_counter() - t0
            wave_g = fe.inverse(spec[None], n_iter=self.n_iter)[0].cpu()
            t_gen = time.perf_counter() - t0
            gen_style = float(objective(spec[None]).style)
        base = run_baseline(objective, fe, [w.to(module.device) for w in dm.style_waves], self.seconds, dm.weights,
                            config=OptimizeConfig(max_iter=self.max_iter, time_budget=self.time_budget, progress=False))
        wave_b = fe.inverse(base.result.spec[None], n_iter=self.n_iter)[0].cpu()
        rows = {
            "generator": {"style_loss": gen_style, "seconds_to_make": t_gen, "forward_s": t_fwd},
            "baseline": {"style_loss": base.result.style_loss, "seconds_to_make": base.result.wall_time + base.inversion_time,
                         "evaluations": len(base.result.losses), "stop_reason": base.result.stop_reason},
            "real_heldout": {"style_loss": module.reference_style},
            "seconds": self.seconds,
        }
        self.result = rows
        save_wav(out / "comparison_generator.wav", wave_g, fe.sample_rate, overwrite=True)
        save_wav(out / "comparison_baseline.wav", wave_b, fe.sample_rate, overwrite=True)
        save_json(rows, out / "comparison.json")
        fig = spectrogram_figure({"target": fe(dm.style_waves[0].to(module.device))[0].cpu()[:, : 2 * n],
                                  "generator": spec.cpu(), "baseline": base.result.spec.cpu()},
                                 fe.frame_rate, fe.frequencies(), title="target vs generator vs baseline")
        run = _wandb_run(trainer)
        if run is not None:
            import wandb

            table = wandb.Table(columns=["method", "style_loss", "seconds_to_make", "audio"])
            table.add_data("generator", gen_style, t_gen, wandb.Audio(wave_g.numpy(), sample_rate=fe.sample_rate))
            table.add_data("baseline", base.result.style_loss, rows["baseline"]["seconds_to_make"],
                           wandb.Audio(wave_b.numpy(), sample_rate=fe.sample_rate))
            run.log({"comparison/table": table, "comparison/spectrograms": wandb.Image(fig)})
        save_figure(fig, out / "comparison.png")
        log.warning("generator vs baseline (%.1f s): style loss %.4g vs %.4g, %.2f s vs %.1f s to make",
                    self.seconds, gen_style, base.result.style_loss, t_gen, rows["baseline"]["seconds_to_make"])
