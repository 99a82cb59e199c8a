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
            wave = module.generate_wave(n, 0, self.n_iter).float()
            spec = module.frontend(wave)[0] if module.is_waveform else module.generate_specs(n, [0])[0].float()
            wave = wave.cpu()
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

    ``time_budget`` caps the baseline's optimisation (seconds); ``max_iter`` its evaluations; ``domain``
    picks the baseline's kind (``None``: the generator's own: the waveform baseline for a waveform
    generator, the spectrogram one otherwise).

    Both outputs are also scored with :mod:`texnet.metrics` against real audio (a few seconds; single
    target only): with ``train_fraction < 1`` the texture ratio and the held-out style ratio against the
    data module's held-out part (1 = as close as the training part itself, the ``real_heldout`` row),
    and always the copy score against the training part (``real_heldout`` holds the level of an
    independent excerpt). At most ``METRICS_SECONDS`` of each part are used.
    """

    METRICS_SECONDS = 30.0

    def __init__(self, seconds: float = 5.0, time_budget: float = 60.0, max_iter: int = 150, n_iter: int = 32,
                 enabled: bool = True, domain: str | None = None):
        self.seconds, self.time_budget, self.max_iter, self.n_iter = seconds, time_budget, max_iter, n_iter
        self.domain = domain
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
            module.generator(module.generator.make_noise(n, [0]))
            t_fwd = time.perf_counter() - t0
            t0 = time.perf_counter()
            wave_g = module.generate_wave(n, 0, self.n_iter).float()
            t_gen = time.perf_counter() - t0
            # judged on the spectrogram of the audio actually produced, as the baseline is below
            spec = fe(wave_g)[0]
            # judged where the objective lives (a GPU module's STFT window is on the GPU); saved from the CPU
            gen_style = float(module.audio_style(wave_g[None]))
            wave_g = wave_g.cpu()
        domain = self.domain or ("waveform" if module.is_waveform else "spectrogram")
        base = run_baseline(objective, fe, [w.to(module.device) for w in dm.style_waves], self.seconds, dm.weights,
                            config=OptimizeConfig(max_iter=self.max_iter, time_budget=self.time_budget, progress=False),
                            domain=domain)
        wave_b = base.wave.cpu()
        with torch.no_grad():
            base_spec = fe(base.wave.to(module.device))[0]  # the baseline judged on its final audio too
            base_audio_style = float(module.audio_style(base.wave.to(module.device)[None]))
        rows = {
            "generator": {"style_loss": gen_style, "seconds_to_make": t_gen, "forward_s": t_fwd},
            "baseline": {"style_loss": base_audio_style, "domain": domain, "style_loss_optimised_spec": base.result.style_loss,
                         "seconds_to_make": base.result.wall_time + base.inversion_time,
                         "evaluations": len(base.result.losses), "stop_reason": base.result.stop_reason},
            "real_heldout": {"style_loss": module.reference_style},
            "seconds": self.seconds,
        }
        self.result = rows
        self._add_metrics(rows, dm, fe, wave_g, wave_b, module.device)
        save_wav(out / "comparison_generator.wav", wave_g, fe.sample_rate, overwrite=True)
        save_wav(out / "comparison_baseline.wav", wave_b, fe.sample_rate, overwrite=True)
        save_json(rows, out / "comparison.json")
        fig = spectrogram_figure({"target": fe(dm.style_waves[0].to(module.device))[0].cpu()[:, : 2 * n],
                                  "generator": spec.cpu(), "baseline": base_spec.cpu()},
                                 fe.frame_rate, fe.frequencies(), title="target vs generator vs baseline")
        run = _wandb_run(trainer)
        if run is not None:
            import wandb

            extra = ["texture_ratio", "heldout_style_ratio", "heldout_style", "copy_score"]
            table = wandb.Table(columns=["method", "style_loss", "seconds_to_make", *extra, "audio"])
            table.add_data("generator", gen_style, t_gen, *(rows["generator"].get(k) for k in extra),
                           wandb.Audio(wave_g.numpy(), sample_rate=fe.sample_rate))
            table.add_data("baseline", base_audio_style, rows["baseline"]["seconds_to_make"],
                           *(rows["baseline"].get(k) for k in extra),
                           wandb.Audio(wave_b.numpy(), sample_rate=fe.sample_rate))
            run.log({"comparison/table": table, "comparison/spectrograms": wandb.Image(fig)})
        save_figure(fig, out / "comparison.png")
        log.warning("generator vs baseline (%.1f s): style loss %.4g vs %.4g, %.2f s vs %.1f s to make",
                    self.seconds, gen_style, base_audio_style, t_gen, rows["baseline"]["seconds_to_make"])

    def _add_metrics(self, rows: dict, dm, fe, wave_g: torch.Tensor, wave_b: torch.Tensor, device) -> None:
        """Texture ratio / held-out style vs the held-out part, copy score vs the training part, in place."""
        from .metrics import copy_score, heldout_style_distances, texture_ratios

        if len(dm.style_waves) != 1:
            rows["metrics_note"] = "several style targets: no metrics against real audio"
            return
        t0 = time.perf_counter()
        try:
            cap = int(self.METRICS_SECONDS * fe.sample_rate)
            train = dm.style_waves[0][:cap].float().cpu()
            has_heldout = dm.train_fraction < 1.0 and bool(dm.heldout_waves)
            heldout = dm.heldout_waves[0][:cap].float().cpu() if has_heldout else train
            with torch.no_grad():
                spec = lambda w: fe(w.to(device))[0].float().cpu()  # noqa: E731
                s_train, s_held, s_g, s_b = spec(train), spec(heldout), spec(wave_g), spec(wave_b)
            # held-out style: against the held-out part (and the training part's own distance to it),
            # or against the training clip itself when there is no held-out part
            style = heldout_style_distances(s_held, [s_train, s_g, s_b] if has_heldout else [s_g, s_b])
            real_style = style.pop(0)["distance"] if has_heldout else None
            ratios = texture_ratios(train, heldout, [wave_g, wave_b], fe.sample_rate) if has_heldout else [None, None]
            for name, s, st, tr in zip(("generator", "baseline"), (s_g, s_b), style, ratios):
                cs = copy_score(s_train, s)
                rows[name].update({
                    "texture_ratio": None if tr is None else tr["ratio"],
                    "texture_distance_heldout": None if tr is None else tr["distance"],
                    "heldout_style": st["distance"],
                    "heldout_style_ratio": None if real_style is None else st["distance"] / max(real_style, 1e-12),
                    "copy_score": cs["mean"], "copy_score_max": cs["max"],
                })
            if has_heldout:
                rows["real_heldout"].update({
                    "texture_ratio": 1.0, "texture_distance_heldout": ratios[0]["baseline"],
                    "heldout_style": real_style, "heldout_style_ratio": 1.0,
                    "copy_score": copy_score(s_train, s_held)["mean"]})
            rows["metrics_reference"] = ("held-out part" if has_heldout
                                         else "training clip (train_fraction 1: no held-out part)")
        except Exception as e:  # noqa: BLE001 - the metrics must not cost the run its comparison record
            log.warning("comparison metrics failed: %s", e)
            rows["metrics_note"] = f"metrics failed: {str(e).splitlines()[0] if str(e) else type(e).__name__}"
        rows["metrics_s"] = time.perf_counter() - t0
