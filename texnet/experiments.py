"""Recipes the benchmarks in ``bench/`` share: the objective of a config, baselines, trained generators,
the judge's verdict on their outputs, training jobs, and the markdown they write.

    from texnet import experiments as X
    clip = X.load_clip("rain")
    obj = X.objective_from_config("configs/quickstart.yaml")
    out = X.baseline(obj, X.first_half(clip), seconds=10.0, domain="spectrogram")
    verdict = X.judge(clip, [out.wave])                   # texnet.evaluation.evaluate, summarised

Every bench script is a thin command over these functions (they never import each other). The texture
objective is built in ONE place, :func:`build_objective_for`, and used only through
:class:`RecipeObjective` (targets, style of a spectrogram or of audio), so that the benchmarks optimise
and score exactly what training does. The judge (:func:`texnet.evaluation.evaluate`, :mod:`texnet.metrics`)
is independent code. Measured figures live in ``bench/RESULTS.md``, not here.
"""
from __future__ import annotations

import math
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import torch

ROOT = Path(__file__).resolve().parents[1]  # the repository (texnet is installed editable)
DATA = ROOT / "data"
SAMPLE_RATE = 22050
HOLDOUT = 0.5  # the benchmarks hold out the second half of a clip (--data.holdout): it is never seen
TEXTURES = ("rain", "fire", "stream", "insects", "crowd", "machine", "wind")  # the bundled texture clips
STAT_GROUPS = ("mean", "cv", "skew", "kurtosis", "corr", "mod")  # texnet.metrics.STAT_GROUPS


# --------------------------------------------------------------------------------------------------
# Clips
# --------------------------------------------------------------------------------------------------


def clip_path(texture: str) -> Path:
    """``data/<texture>.ogg`` of the repository."""
    return DATA / f"{texture}.ogg"


def load_clip(texture: str, sample_rate: int = SAMPLE_RATE) -> torch.Tensor:
    """A bundled clip ``(samples,)``, RMS-normalised as every command loads audio."""
    from .audio import load_audio

    return load_audio(clip_path(texture), sample_rate)


def split(clip: torch.Tensor, holdout: float = HOLDOUT) -> int:
    """Sample index where a clip's target part ends (as :class:`texnet.data.TextureDataModule` cuts it)."""
    return int(clip.shape[-1] * (1.0 - holdout))


def first_half(clip: torch.Tensor) -> torch.Tensor:
    """The part of ``clip`` a synthesis may learn from (all but the ``HOLDOUT``)."""
    return clip[..., : split(clip)]


# --------------------------------------------------------------------------------------------------
# The objective (the ONE place the benchmarks build it)
# --------------------------------------------------------------------------------------------------


def objective_config(section: dict | None = None, **fields):
    """An ``ObjectiveConfig`` (the texture objective's settings) from a config section and/or ``fields``."""
    from .config import from_section
    from .loss import ObjectiveConfig

    return from_section(ObjectiveConfig, {**(section or {}), **fields}, "objective")


class RecipeObjective:
    """The texture loss of one recipe in one domain (:func:`texnet.loss.build_objective`), as training and the
    baseline apply it. ``set_targets(waves)``; ``spec_style(spec)``: style loss of a log-magnitude ``(freq,
    time)`` (spectrogram domain); ``audio_style(wave)``: of audio ``(samples,)`` or ``(batch, samples)`` (in
    the spectrogram domain: of its spectrogram). Build it with :func:`build_objective_for`."""

    def __init__(self, loss):
        self.loss, self.frontend, self.domain = loss, loss.frontend, loss.domain

    @property
    def receptive_field_seconds(self) -> float:
        """Time span one descriptor output sees (in the front end's frames)."""
        return self.loss.receptive_field / self.frontend.frame_rate

    def min_samples(self) -> int:
        """Shortest audio the objective can judge."""
        return self.loss.min_samples()

    def to(self, device) -> "RecipeObjective":
        self.loss.to(device)
        return self

    def set_targets(self, waves: Sequence[torch.Tensor], weights: Sequence[float] | None = None) -> None:
        self.loss.set_target(waves, weights)

    @torch.no_grad()
    def spec_style(self, spec: torch.Tensor) -> float:
        if self.domain != "spectrogram":
            raise ValueError("spec_style judges a spectrogram-domain objective's input; use audio_style")
        return float(self.loss(spec[None].float()).style)

    @torch.no_grad()
    def audio_style(self, wave: torch.Tensor, pooled: bool = False) -> float:
        """Style loss of audio; ``pooled``: of a batch of crops ``(batch, samples)`` taken as one excerpt,
        as training takes a batch."""
        wave = wave[None] if wave.dim() == 1 else wave
        x = wave if self.domain == "waveform" else self.frontend(wave)
        return float(self.loss(x, pooled=pooled).style.mean())


def build_objective_for(frontend, descriptor, objective, domain: str) -> RecipeObjective:
    """The objective of a recipe: ``frontend`` (a ``FrontendConfig`` or a built front end), ``descriptor``
    (``DescriptorConfig``), ``objective`` (``ObjectiveConfig``), in ``domain`` (``"spectrogram"`` or
    ``"waveform"``). The only function in the benchmarks that builds the objective."""
    from .loss import build_objective

    return RecipeObjective(build_objective(frontend, descriptor, objective, domain))


def objective_from_config(config: str | Path | dict | None, domain: str | None = None) -> RecipeObjective:
    """The objective of a YAML config (path or loaded mapping; None: the defaults) in ``domain`` (default:
    the config's ``optimize.domain``, else the baseline's default)."""
    from .config import from_section, load_yaml, model_section
    from .descriptors import DescriptorConfig
    from .frontends import FrontendConfig
    from .optimize import default_domain

    cfg = config if isinstance(config, dict) else ({} if config is None else load_yaml(config))
    fe_cfg = from_section(FrontendConfig, model_section(cfg, "frontend"), "frontend")
    domain = domain or (cfg.get("optimize") or {}).get("domain") or default_domain(fe_cfg.kind)
    return build_objective_for(fe_cfg, from_section(DescriptorConfig, model_section(cfg, "descriptor"), "descriptor"),
                               objective_config(model_section(cfg, "objective")), domain)


def objective_for_generator(gen) -> RecipeObjective:
    """The objective a loaded generator (:func:`texnet.inference.load_generator`) was trained against."""
    return build_objective_for(gen.frontend, gen.descriptor_config, objective_config(gen.hparams["objective"]),
                               "waveform" if gen.is_waveform else "spectrogram")


# --------------------------------------------------------------------------------------------------
# Syntheses: the baseline, a generator trained in this process, a trained generator's outputs
# --------------------------------------------------------------------------------------------------


def optimize_config(config=None, **overrides):
    """An ``OptimizeConfig`` (``config`` or the defaults) with ``overrides``, without a progress bar."""
    from .optimize import OptimizeConfig

    return replace(config or OptimizeConfig(), progress=False, **overrides)


def baseline(objective: RecipeObjective, style_wave: torch.Tensor, seconds: float | None, config=None,
             content_wave: torch.Tensor | None = None, **overrides):
    """The optimisation baseline (:func:`texnet.optimize.run_baseline`) against ``objective``, in its domain.

    ``style_wave`` ``(samples,)`` is the target (sets the objective's targets); ``content_wave``: style
    transfer; ``config``: an ``OptimizeConfig`` (default: the defaults), ``overrides`` its fields
    (``max_iter``, ``time_budget``, ``seed``, ``init``). Returns the ``BaselineOutput`` (``wave``,
    ``result``, ``style_specs``, ``content_spec``, ``inversion_time``).
    """
    from .optimize import run_baseline

    cfg = optimize_config(config, **overrides)
    return run_baseline(objective.loss, [style_wave], seconds, content_wave=content_wave, config=cfg)


def module_kwargs(config: str | Path | dict) -> dict:
    """``TextureModule`` arguments (typed front end, descriptor, objective, generator configs and ``lr``)
    of a trainer YAML config (path or loaded mapping)."""
    from .config import from_section, load_yaml, model_section
    from .descriptors import DescriptorConfig
    from .frontends import FrontendConfig
    from .generators import GeneratorConfig

    cfg = config if isinstance(config, dict) else load_yaml(config)
    model = cfg.get("model") or {}
    return {"frontend": from_section(FrontendConfig, model_section(cfg, "frontend"), "frontend"),
            "descriptor": from_section(DescriptorConfig, model_section(cfg, "descriptor"), "descriptor"),
            "objective": objective_config(model_section(cfg, "objective")),
            "generator": from_section(GeneratorConfig, model_section(cfg, "generator"), "generator"),
            "lr": model.get("lr", 2e-3)}


def fit_generator(model: dict, data: dict, steps: int, precision: str = "32-true", accelerator: str = "auto",
                  callbacks: Sequence = ()):
    """Train a generator in this process with Lightning: ``model`` are ``TextureModule`` arguments,
    ``data`` ``TextureDataModule`` arguments. No logger, checkpoints or validation; the spectrum calibrated at
    the end as ``train.py`` does (:class:`texnet.callbacks.SpectrumCalibration`). Returns the trained
    generator as :func:`texnet.inference.load_generator` would load it (``generate(seconds, seed)``)."""
    import pytorch_lightning as pl

    from .data import TextureDataModule
    from .module import TextureModule

    from .callbacks import SpectrumCalibration

    module = TextureModule(**model)
    dm = TextureDataModule(**{**data, "steps_per_epoch": steps + 1})
    trainer = pl.Trainer(max_steps=steps, accelerator=accelerator, devices=1, precision=precision, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         limit_val_batches=0, callbacks=[SpectrumCalibration(), *callbacks], gradient_clip_val=1.0)
    trainer.fit(module, dm)
    return module.eval().synth


def generate(gen, seconds: float, seeds: Iterable[int]) -> list[torch.Tensor]:
    """One output ``(samples,)`` of ``seconds`` per seed from a loaded generator (anything with
    ``generate(seconds, seed=...)``)."""
    with torch.no_grad():
        return [gen.generate(seconds, seed=s) for s in seeds]


# --------------------------------------------------------------------------------------------------
# Judging outputs (texnet.evaluation / texnet.metrics: independent of the objective)
# --------------------------------------------------------------------------------------------------


def _judge_spec(wave: torch.Tensor) -> torch.Tensor:
    """The log-magnitude the copy score is calibrated on (STFT 1024/256, ``log1p``), whatever the defaults."""
    from .frontends import FrontendConfig, STFTFrontend

    return STFTFrontend(FrontendConfig(kind="stft", n_fft=1024, hop_length=256, scale="log1p"))(wave)[0]


def copy_to_first_half(clip: torch.Tensor, wave: torch.Tensor) -> dict[str, float]:
    """Copy score (``mean``, ``max``; :func:`texnet.metrics.copy_score`) of ``wave`` against the part of
    ``clip`` a synthesis learnt from."""
    from .metrics import copy_score

    return copy_score(_judge_spec(first_half(clip)), _judge_spec(wave))


def independent_copy(clip: torch.Tensor, seconds: float, sample_rate: int = SAMPLE_RATE) -> float:
    """Copy score of ``seconds`` of the clip's own unseen half against its first half: the level of an
    independent excerpt of the same recording, to read a synthesis's :func:`copy_to_first_half` against."""
    cut = split(clip)
    return copy_to_first_half(clip, clip[cut: cut + int(seconds * sample_rate)])["mean"]


def mean(values: Iterable[float]) -> float:
    values = list(values)
    return statistics.mean(values) if values else math.nan


def summarise(report: dict, extra_ratios: Sequence[dict] = ()) -> dict:
    """Means over the candidates of an :func:`texnet.evaluation.evaluate` report.

    ``extra_ratios``: :func:`texnet.metrics.texture_ratio` results of further outputs (more seeds), which
    enter the texture ratio and its groups. Returns ``texture_ratio`` (mean), ``texture_ratio_seeds``,
    ``groups`` (mean ratio per statistic group), ``heldout_style_ratio``, ``copy_score`` (against the whole
    clip), ``diversity``, ``spectral_lines``, ``spectral_lines_reference`` and ``ratio_floor`` (the reference's
    :func:`texnet.metrics.texture_ratio_floor` ``own_variation``: what outputs that varied as the recording does
    would score; None where the clip is too short for it).
    """
    cands = report["candidates"]
    floor = report["reference"].get("ratio_floor")
    ratios = [c["texture_ratio"] for c in cands if c["texture_ratio"] is not None] + list(extra_ratios)
    return {
        "texture_ratio": mean(r["ratio"] for r in ratios),
        "texture_ratio_seeds": [r["ratio"] for r in ratios],
        "groups": {g: mean(r[f"ratio_{g}"] for r in ratios) for g in STAT_GROUPS},
        "heldout_style_ratio": mean(c["heldout_style_ratio"]["ratio"] for c in cands
                                    if c["heldout_style_ratio"] is not None),
        "copy_score": mean(c["copy_score"]["mean"] for c in cands),
        "diversity": report["diversity"],
        "spectral_lines": mean(c["spectral_lines"]["count"] for c in cands),
        "spectral_lines_reference": report["reference"]["spectral_lines"]["count"],
        "ratio_floor": None if floor is None else floor["own_variation"],
    }


def judge(clip: torch.Tensor, waves: Sequence[torch.Tensor], sample_rate: int = SAMPLE_RATE) -> dict:
    """Every measure of outputs made from the first half of ``clip``: :func:`texnet.evaluation.evaluate`
    on the first two (their diversity), the texture ratio alone of any further ones, summarised
    (:func:`summarise`), plus ``copy_score_train_half``: the mean copy score against the half learnt from,
    like for like with :func:`independent_copy`."""
    from .evaluation import evaluate
    from .metrics import texture_ratio

    report = evaluate(clip, list(waves[:2]), sample_rate)
    more = [texture_ratio(clip, w, sample_rate) for w in waves[2:]]
    out = summarise(report, more)
    out["copy_score_train_half"] = mean(copy_to_first_half(clip, w)["mean"] for w in waves[:2])
    return out


# --------------------------------------------------------------------------------------------------
# Jobs: trainings and other commands in their own processes
# --------------------------------------------------------------------------------------------------


def train_command(config: str, out: str | Path, steps: int, texture: str | None = None, threads: int | None = 1,
                  extra: Sequence[str] = (), script: str | Path | None = None, samples: bool = False) -> list[str]:
    """``train.py`` (or ``script``, taking the same arguments) on ``config``'s recipe for ``steps`` steps,
    on the first half of ``data/<texture>.ogg`` (None: the config's audio); no W&B, no end-of-training
    comparison, no progress bar, no audio samples unless ``samples``. ``extra`` arguments come last (they
    win)."""
    cmd = [sys.executable, str(script or ROOT / "train.py"), "--config", str(config), "--out", str(out),
           "--trainer.max_steps", str(steps), "--data.holdout", str(HOLDOUT),
           "--trainer.enable_progress_bar", "false", "--compare.enabled", "false", "--wandb", "off"]
    if texture is not None:
        cmd += ["--data.audio", f"[{clip_path(texture)}]"]
    if not samples:
        cmd += ["--samples.every_n_steps", "0"]
    if threads:
        cmd += ["--threads", str(threads)]
    return cmd + list(extra)


def job_env(threads: int) -> dict:
    """The environment of a job: ``threads`` CPU threads, W&B offline and silent, unbuffered output."""
    return dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), WANDB_MODE="offline",
                WANDB_SILENT="true", PYTHONUNBUFFERED="1")


@dataclass
class Job:
    """A command run in its own process, its output to ``log``; after every job named in ``deps``
    succeeded; skipped (counted as done) when ``done_file`` exists."""

    name: str
    cmd: list[str]
    log: Path
    deps: tuple[str, ...] = ()
    done_file: Path | None = None
    env: dict[str, str] = field(default_factory=dict)  # over job_env's (e.g. CUDA_VISIBLE_DEVICES)
    rc: int | None = None
    t0: float | None = None
    t1: float | None = None
    proc: Any = field(default=None, repr=False)
    log_file: Any = field(default=None, repr=False)

    @property
    def seconds(self) -> float:
        return (self.t1 or time.perf_counter()) - (self.t0 or time.perf_counter())


def run_jobs(jobs: list[Job], slots: int, threads: int = 1, check: bool = False,
             echo: Callable[[str], None] = lambda s: print(s, flush=True)) -> dict[str, float]:
    """Run ``jobs`` ``slots`` at a time (each with :func:`job_env`), each once its dependencies succeeded
    (a job whose dependency failed is skipped, ``rc = -1``); returns wall seconds per job that ran and
    succeeded. ``check``: raise ``SystemExit`` naming the failed jobs (after the others finished).
    Interrupted, it terminates the jobs it started."""
    env = job_env(threads)
    pending, running = list(jobs), []
    by_name = {j.name: j for j in jobs}
    t_start = time.perf_counter()
    try:
        while pending or running:
            for j in list(running):
                if j.proc.poll() is not None:
                    j.rc, j.t1 = j.proc.returncode, time.perf_counter()
                    j.log_file.close()
                    running.remove(j)
                    state = "ok" if j.rc == 0 else f"FAILED (exit {j.rc}, see {j.log})"
                    echo(f"[{time.perf_counter() - t_start:6.0f} s] {j.name}: {state} in {j.seconds:.0f} s")
            for j in list(pending):
                if any(by_name[d].rc not in (0, None) for d in j.deps if d in by_name):
                    j.rc = -1
                    pending.remove(j)
                    echo(f"{j.name}: skipped (a dependency failed)")
            ready = [j for j in pending if all(by_name[d].rc == 0 for d in j.deps if d in by_name)]
            while ready and len(running) < slots:
                j = ready.pop(0)
                pending.remove(j)
                if j.done_file is not None and Path(j.done_file).exists():
                    j.rc = 0
                    echo(f"{j.name}: reused {j.done_file}")
                    continue
                Path(j.log).parent.mkdir(parents=True, exist_ok=True)
                j.t0 = time.perf_counter()
                j.log_file = open(j.log, "w")
                j.proc = subprocess.Popen(j.cmd, cwd=ROOT, env={**env, **j.env}, stdout=j.log_file,
                                          stderr=subprocess.STDOUT)
                running.append(j)
                echo(f"[{time.perf_counter() - t_start:6.0f} s] {j.name}: started")
            if pending or running:
                time.sleep(0.2)
    finally:  # interrupted or crashed: do not leave our own children running
        for j in running:
            if j.proc.poll() is None:
                j.proc.terminate()
                j.proc.wait(timeout=30)
    failed = [j for j in jobs if j.rc != 0]
    if check and failed:
        raise SystemExit("failed: " + ", ".join(f"{j.name} (see {j.log})" for j in failed))
    return {j.name: j.seconds for j in jobs if j.rc == 0 and j.proc is not None}


# --------------------------------------------------------------------------------------------------
# Reports
# --------------------------------------------------------------------------------------------------
# Real-time streaming
# --------------------------------------------------------------------------------------------------


def untrained_synthesizer(generator=None, frontend=None):
    """A :class:`~texnet.synthesizer.Synthesizer` of the given (default: the recommended) generator and
    front end configs with its initial weights, in eval mode: what speed is measured on (speed does
    not depend on the weights)."""
    from .descriptors import DescriptorConfig
    from .frontends import FrontendConfig, build_frontend
    from .generators import GeneratorConfig, build_generator
    from .synthesizer import Synthesizer

    fe = build_frontend(frontend or FrontendConfig())
    gen = build_generator(fe.n_freq, generator or GeneratorConfig())
    return Synthesizer(gen, fe, DescriptorConfig(), {}).eval()


def time_blocks(read: Callable[[], torch.Tensor], seconds: float, sample_rate: int, warmup: int = 3) -> dict:
    """Call ``read()`` (one block of samples ``(n,)`` a call) until ``seconds`` of audio, timing every call
    by this thread's CPU time (robust to other jobs on the machine) and by the clock.

    Returns the blocks' mean samples, the latency per block (CPU ms: mean, 99th percentile, max; clock ms:
    mean, max) and the real-time factors (audio seconds / CPU seconds, / clock seconds)."""
    with torch.no_grad():
        for _ in range(warmup):
            read()
        cpu, wall, samples = [], [], 0
        while samples < seconds * sample_rate:
            c0, w0 = time.thread_time(), time.perf_counter()
            n = read().numel()
            cpu.append(time.thread_time() - c0)
            wall.append(time.perf_counter() - w0)
            samples += n
    ordered = sorted(cpu)
    audio = samples / sample_rate
    return {"block_samples": samples / len(cpu), "blocks": len(cpu), "audio_s": audio,
            "cpu_ms_mean": 1e3 * sum(cpu) / len(cpu), "cpu_ms_p99": 1e3 * ordered[min(len(cpu) - 1, int(0.99 * len(cpu)))],
            "cpu_ms_max": 1e3 * ordered[-1], "wall_ms_mean": 1e3 * sum(wall) / len(wall), "wall_ms_max": 1e3 * max(wall),
            "rtf_cpu": audio / max(sum(cpu), 1e-12), "rtf_wall": audio / max(sum(wall), 1e-12)}


# --------------------------------------------------------------------------------------------------


def fmt(value, spec: str = "{:.2f}") -> str:
    """``spec.format(value)``, or ``-`` for a missing (None) or non-finite value."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return spec.format(value)


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A markdown table; cells are written with ``str``."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def replace_section(text: str, block: str, heading: str, start: str | None = None, end: str | None = None) -> str:
    """``text`` (a markdown file) with the section ``heading`` holding ``block``; the rest is kept.

    With markers, ``block`` goes between ``start`` and ``end`` (a lost ``start`` is recovered when
    ``heading`` and ``end`` are there: the stretch from the heading to ``end`` is ours). Without markers
    the section runs from ``heading`` to the next heading of its level. A missing section is appended.
    """
    body = f"{start}\n{block.strip(chr(10))}\n{end}" if start else block.strip("\n") + "\n"
    section = f"{heading}\n\n{body}"
    if start and end:
        if start in text and end in text and text.index(start) < text.index(end):
            return text[: text.index(start)] + body + text[text.index(end) + len(end):]
        if heading in text and end in text and text.index(heading) < text.index(end):
            return text[: text.index(heading)] + section + text[text.index(end) + len(end):]
    else:
        m = re.search(rf"^{re.escape(heading)}\s*$", text, flags=re.M)
        if m:
            level = re.match(r"#+ ", heading)
            nxt = re.search(rf"^{level.group(0) if level else '## '}", text[m.end():], flags=re.M)
            stop = m.end() + nxt.start() if nxt else len(text)
            return text[: m.start()] + section + ("\n" if nxt else "") + text[stop:]
    if not text.strip():
        return f"# Benchmark results\n\n{section}\n"
    return text.rstrip("\n") + f"\n\n{section}\n"


def write_section(path: str | Path, block: str, heading: str, start: str | None = None,
                  end: str | None = None) -> None:
    """:func:`replace_section` on the file ``path`` (created if missing), written atomically."""
    path = Path(path)
    old = path.read_text() if path.exists() else ""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(replace_section(old, block, heading, start, end))
    os.replace(tmp, path)


def machine_info() -> dict:
    """CPU model, cores, torch and Python versions, load average: the context of a timing."""
    model = platform.processor() or platform.machine()
    try:
        model = next(ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                     if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        load = os.getloadavg()
    except OSError:
        load = (math.nan,) * 3
    return {"cpu": model, "cores": os.cpu_count(), "torch": torch.__version__, "python": platform.python_version(),
            "load": load}
