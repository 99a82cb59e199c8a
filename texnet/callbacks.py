"""Lightning callbacks: the loss history, audio + spectrogram samples during training, generator-vs-baseline
at the end.

Everything is written to the run directory (``losses.csv``/``.png``, ``samples/``, ``comparison.json``/
``.png``) and, when the trainer logs to Weights & Biases, logged there too (audio, images, a comparison
table). Without W&B the files are still written.
"""
from __future__ import annotations

import logging
import math
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


class FinalCheckpoint(pl.Callback):
    """``last.ckpt`` holds the final step: Lightning's checkpoint callback saves at validation and epoch ends,
    so a run whose ``max_steps`` falls between them (or whose end-of-training work fails) would otherwise
    keep an earlier step. Runs first at the end of training, before samples and the comparison."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def on_train_end(self, trainer, module):
        if trainer.global_step > 0:
            trainer.save_checkpoint(self.path, weights_only=False)  # with the optimiser: resumable


class SpectrumCalibration(pl.Callback):
    """At the end of training, FIRST (before the final checkpoint, samples and the comparison): scale each bin of
    a phase-free generator so that its audio's long-term spectrum matches the training targets'
    (:func:`texnet.calibration.calibrate_spectrum`, from ``seconds`` of audio per round; 0: off). Other
    generators are left as they are. The gains travel in the checkpoint's callback state: a resumed training
    takes them off first and goes on from the generator it had trained, as an uninterrupted run would."""

    def __init__(self, seconds: float = 60.0, rounds: int = 3):
        if not (math.isfinite(seconds) and seconds >= 0) or rounds < 1:
            raise ValueError(f"calibrate.seconds must be >= 0 (0: off) and calibrate.rounds >= 1, got {seconds} "
                             f"and {rounds}")
        self.seconds, self.rounds = seconds, rounds
        self.gain_db: torch.Tensor | None = None

    def on_train_end(self, trainer, module):
        dm = trainer.datamodule
        if (not self.seconds or not module.synth.is_waveform or module.synth.is_style or trainer.global_step == 0
                or dm is None):
            return
        from .calibration import calibrate_spectrum

        self.gain_db = calibrate_spectrum(module.synth, dm.style_waves, dm.weights, self.seconds, self.rounds)
        log.info("spectrum calibrated: bin gains %+.1f to %+.1f dB (rms %.2f dB)", self.gain_db.min(),
                 self.gain_db.max(), self.gain_db.square().mean().sqrt())

    def on_train_start(self, trainer, module):
        if self.gain_db is not None:  # resumed from a calibrated checkpoint (only texture generators are)
            module.synth.generator.scale_bins(10 ** (-self.gain_db.to(module.device) / 20))
        self.gain_db = None

    def state_dict(self) -> dict:
        return {"gain_db": None if self.gain_db is None else self.gain_db.cpu()}

    def load_state_dict(self, state_dict: dict) -> None:
        self.gain_db = state_dict.get("gain_db")


class LossHistory(pl.Callback):
    """The losses of the whole run as ``losses.csv`` (one row per logged step: ``step`` and each ``train/``
    or ``val/`` value logged there) and ``losses.png`` in the run folder, with or without W&B.

    Rows are taken every ``trainer.log_every_n_steps`` steps and after every validation, kept in the
    checkpoints (a resumed run's files hold its whole history), and written atomically when training
    ends or stops on an error. Runs right after :class:`FinalCheckpoint`, before samples and comparison."""

    FILES = ("losses.csv", "losses.png")

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.rows: list[dict] = []

    def _record(self, trainer: pl.Trainer, prefix: str) -> None:
        values = {k: float(v) for k, v in trainer.callback_metrics.items()
                  if k.startswith(prefix) and torch.as_tensor(v).numel() == 1}
        if not values:
            return
        row = {"step": int(trainer.global_step), **values}
        if self.rows and self.rows[-1]["step"] == row["step"]:  # the same step: one row
            self.rows[-1].update(values)
        else:
            self.rows.append(row)

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        step, last = trainer.global_step, trainer.max_steps
        # the last step too (before FinalCheckpoint saves the history with it), when it is not a logged one
        if step % max(1, trainer.log_every_n_steps) == 0 or (last > 0 and step >= last):
            self._record(trainer, "train/")

    def on_validation_end(self, trainer, module):
        if not trainer.sanity_checking:
            self._record(trainer, "val/")

    def on_train_end(self, trainer, module):
        self.write(trainer)

    def on_exception(self, trainer, module, exception):
        self.write(trainer)

    def write(self, trainer: pl.Trainer) -> None:
        if not trainer.is_global_zero or not self.rows:
            return
        from .outputs import atomic_write
        from .reporting import loss_figure

        names = sorted({k for r in self.rows for k in r if k != "step"})

        def write_csv(tmp: str) -> None:
            with open(tmp, "w") as f:
                f.write(",".join(["step", *names]) + "\n")
                for r in self.rows:
                    f.write(",".join([str(r["step"]), *("" if r.get(n) is None else f"{r[n]:.6g}" for n in names)]) + "\n")

        atomic_write(self.folder / "losses.csv", write_csv, overwrite=True)
        save_figure(loss_figure(self.rows, title=f"{self.folder.name}: losses"), self.folder / "losses.png")

    def state_dict(self) -> dict:
        return {"rows": [dict(r) for r in self.rows]}

    def load_state_dict(self, state_dict: dict) -> None:
        self.rows = [dict(r) for r in state_dict.get("rows", [])]


class SampleLogger(pl.Callback):
    """Every ``every_n_steps`` (and at the end) make ``seconds`` of texture through the synthesiser (as
    ``generate`` would), save WAV + PNG under ``<run>/samples`` and log them to W&B."""

    def __init__(self, every_n_steps: int = 200, seconds: float = 5.0):
        if every_n_steps < 0:
            raise ValueError(f"samples.every_n_steps must be >= 0 (0: only at the end), got {every_n_steps}")
        if not (math.isfinite(seconds) and 0 < seconds <= 600):
            raise ValueError(f"samples.seconds must be positive and at most 600, got {seconds}")
        self.every, self.seconds = every_n_steps, seconds

    def _sample(self, trainer: pl.Trainer, module, tag: str) -> None:
        synth = module.synth
        if not trainer.is_global_zero or synth.is_style:
            return
        out = Path(trainer.default_root_dir) / "samples"
        was_training = module.training
        module.eval()
        wave = synth.generate(self.seconds, seed=0).float()
        spec = synth.frontend(wave)[0].cpu()  # the picture of what is heard
        wave = wave.cpu()
        module.train(was_training)
        sr = synth.sample_rate
        save_wav(out / f"{tag}.wav", wave, sr, overwrite=True)
        fig = spectrogram_figure({f"generated ({tag})": spec}, synth.frontend.frame_rate, synth.frontend.frequencies())
        run = _wandb_run(trainer)
        if run is not None:
            import wandb

            run.log({"samples/audio": wandb.Audio(wave.numpy(), sample_rate=sr, caption=tag),
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
    texture against the same loss (same configs, same targets); their style losses, wall times, audio
    and the judge's verdict (:func:`texnet.evaluation.evaluate`) are compared.

    The baseline runs with the config's ``optimize`` settings (``optimize``, set by ``train.py``), its
    optimisation capped at ``time_budget`` seconds; ``domain`` picks the baseline's kind (``None``: the
    ``optimize`` section's, else the generator's own). With a held-out part (``data.holdout > 0``) the
    reference is the training part and the held-out part side by side (at most ``METRICS_SECONDS`` of each), so the texture ratio is measured
    against audio neither method saw.
    """

    METRICS_SECONDS = 30.0

    def __init__(self, seconds: float = 5.0, time_budget: float = 60.0, enabled: bool = True,
                 domain: str | None = None):
        from .optimize import OptimizeConfig

        if not (math.isfinite(seconds) and 0 < seconds <= 600):
            raise ValueError(f"compare.seconds must be positive and at most 600, got {seconds}")
        if not (time_budget is None or (math.isfinite(time_budget) and time_budget > 0)):
            raise ValueError(f"compare.time_budget must be a positive number of seconds, got {time_budget}")
        self.seconds, self.time_budget = seconds, time_budget
        self.domain = domain
        self.optimize = OptimizeConfig()
        self.enabled = enabled
        self.result: dict | None = None

    def check(self, module) -> None:
        """Refuse, before any training, a comparison shorter than ``module``'s loss can judge: it would only
        fail once the training is over."""
        synth = getattr(module, "synth", None)
        if not self.enabled or synth is None or synth.is_style:
            return
        need, sr = module.min_samples(), module.sample_rate
        if round(self.seconds * sr) < need:
            raise ValueError(f"compare.seconds ({self.seconds:g} s) is shorter than the loss can judge "
                             f"({need / sr:.2f} s): raise it, or set compare.enabled false")

    def on_train_end(self, trainer, module):
        synth = module.synth
        if not self.enabled or not trainer.is_global_zero or synth.is_style or trainer.datamodule is None:
            return
        from dataclasses import replace

        from .loss import build_objective
        from .optimize import run_baseline

        dm = trainer.datamodule
        out = Path(trainer.default_root_dir)
        fe = synth.frontend
        log.warning("comparing with the baseline on %.1f s (its optimisation up to %g s), then the judge...",
                    self.seconds, self.time_budget)
        module.eval()
        t0 = time.perf_counter()
        wave_g = synth.generate(self.seconds, seed=0).float()
        t_gen = time.perf_counter() - t0
        with torch.no_grad():  # judged on the audio actually produced, as the baseline is below
            gen_style = float(module.audio_style(wave_g[None]))
        domain = self.domain or self.optimize.domain or synth.domain
        loss = (module.loss if domain == module.loss.domain  # the same loss, targets set again by run_baseline
                else build_objective(fe, synth.descriptor_config, module.obj_cfg, domain).to(module.device))
        base = run_baseline(loss, [w.to(module.device) for w in dm.style_waves], self.seconds, dm.weights,
                            config=replace(self.optimize, time_budget=self.time_budget, progress=False))
        with torch.no_grad():
            base_style = float(module.audio_style(base.wave.to(module.device)[None]))
        wave_g, wave_b = wave_g.cpu(), base.wave.detach().cpu()
        rows = {
            "generator": {"style_loss": gen_style, "seconds_to_make": t_gen, "forward_s": synth.timings.forward},
            "baseline": {"style_loss": base_style, "domain": domain, "style_loss_optimised": base.result.style_loss,
                         "seconds_to_make": base.result.wall_time + base.inversion_time,
                         "evaluations": len(base.result.losses), "stop_reason": base.result.stop_reason},
            "real_heldout": {"style_loss": module.reference_style},
            "seconds": self.seconds,
        }
        self._judge(rows, dm, fe.sample_rate, wave_g, wave_b)
        self.result = rows
        save_wav(out / "comparison_generator.wav", wave_g, fe.sample_rate, overwrite=True)
        save_wav(out / "comparison_baseline.wav", wave_b, fe.sample_rate, overwrite=True)
        save_json(rows, out / "comparison.json")
        with torch.no_grad():  # the target over twice the outputs' length
            pictures = {"target": fe(dm.style_waves[0][: 2 * wave_g.shape[-1]].to(module.device))[0].cpu(),
                        "generator": fe(wave_g.to(module.device))[0].cpu(),
                        "baseline": fe(wave_b.to(module.device))[0].cpu()}
        fig = spectrogram_figure(pictures, fe.frame_rate, fe.frequencies(), title="target vs generator vs baseline")
        run = _wandb_run(trainer)
        if run is not None:
            import wandb

            # numbers only in the table, the audio as media of its own: W&B stages a table's media under
            # absolute paths (its artifact), which a run folder copied to another machine no longer has;
            # logged media live in the run's files/ by relative path and sync from anywhere
            extra = ["texture_ratio", "heldout_style_ratio", "copy_score", "spectral_lines"]
            table = wandb.Table(columns=["method", "style_loss", "seconds_to_make", *extra])
            for name in ("generator", "baseline"):
                r = rows[name]
                table.add_data(name, r["style_loss"], r["seconds_to_make"], *(r.get(k) for k in extra))
            run.log({"comparison/table": table, "comparison/spectrograms": wandb.Image(fig),
                     **{f"comparison/audio_{name}": wandb.Audio(wave.numpy(), sample_rate=fe.sample_rate, caption=name)
                        for name, wave in (("generator", wave_g), ("baseline", wave_b))}})
            # sortable in the W&B runs table: every number of both methods in the run's summary
            run.summary.update({f"comparison/{name}/{k}": v for name in ("generator", "baseline")
                                for k, v in rows[name].items() if isinstance(v, (int, float)) and v is not None})
        save_figure(fig, out / "comparison.png")
        log.warning("generator vs baseline (%.1f s): style loss %.4g vs %.4g, %.2f s vs %.1f s to make",
                    self.seconds, gen_style, base_style, t_gen, rows["baseline"]["seconds_to_make"])
        if rows["generator"].get("texture_ratio") is not None:
            floor = rows["real_heldout"].get("texture_ratio_floor")
            log.warning("texture ratio against the held-out part: generator %.2f, baseline %.2f%s",
                        rows["generator"]["texture_ratio"], rows["baseline"]["texture_ratio"],
                        "" if floor is None else f" (a perfect generator of the training part: about {floor:.2f})")

    def _judge(self, rows: dict, dm, sample_rate: int, wave_g: torch.Tensor, wave_b: torch.Tensor) -> None:
        """The judge's numbers for both outputs (:func:`texnet.evaluation.evaluate`), in place."""
        from .evaluation import evaluate

        if len(dm.style_waves) != 1:
            rows["metrics_note"] = "several style targets: no metrics against real audio"
            return
        t0 = time.perf_counter()
        cap = int(self.METRICS_SECONDS * sample_rate)
        train = dm.style_waves[0].float().cpu()
        has_heldout = dm.holdout > 0 and bool(dm.heldout_waves)
        if has_heldout:  # equal halves: evaluate() takes the first as what was trained on, the second as unseen
            n = min(cap, train.shape[-1], dm.heldout_waves[0].shape[-1])
            reference = torch.cat([train[:n], dm.heldout_waves[0][:n].float().cpu()])
        else:
            reference = train[:cap]
        try:
            report = evaluate(reference, [wave_g, wave_b], sample_rate)
        except ValueError as e:  # too short to judge: the comparison keeps its losses and audio
            rows["metrics_note"] = f"metrics not computed: {e}"
            return
        for name, c in zip(("generator", "baseline"), report["candidates"]):
            rows[name].update({
                "texture_ratio": c["texture_ratio"]["ratio"] if has_heldout and c["texture_ratio"] else None,
                "heldout_style_ratio": (c["heldout_style_ratio"]["ratio"]
                                        if has_heldout and c["heldout_style_ratio"] else None),
                "heldout_style": c["heldout_style"]["distance"],
                "copy_score": c["copy_score"]["mean"], "copy_score_max": c["copy_score"]["max"],
                "spectral_lines": c["spectral_lines"]["count"],
            })
        rows["real_heldout"]["spectral_lines"] = report["reference"]["spectral_lines"]["count"]
        floor = report["reference"]["ratio_floor"]
        # what a perfect generator of the training part that varies like the recording would score
        rows["real_heldout"]["texture_ratio_floor"] = floor["own_variation"] if has_heldout and floor else None
        rows["metrics_reference"] = ("training part + held-out part" if has_heldout
                                     else "training clip (no held-out part, no ratios: --data.holdout 0.5 measures them)")
        rows["metrics_s"] = time.perf_counter() - t0
