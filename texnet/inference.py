"""Python API over trained generators: load a checkpoint safely, generate or stylise audio.

    gen = texnet.load_generator("runs/quickstart/last.ckpt")
    wave = gen.generate(seconds=60, seed=3)          # (samples,) float32 at gen.sample_rate
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .descriptors import DescriptorConfig, build_descriptor
from .frontends import Frontend, FrontendConfig, build_frontend
from .generators import GeneratorConfig, StyleGenerator, TextureGenerator, WaveformGenerator, build_generator

# Written into every training checkpoint by texnet.module.TextureModule; kept here so that loading a
# generator (generate, stream) never imports Lightning (about 0.2 GB and a second of start-up).
CHECKPOINT_FORMAT = "texnet-generator-1"


class CheckpointError(ValueError):
    """A file that is not a texnet generator checkpoint; the message is one line naming it."""


@dataclass
class Timings:
    """Seconds spent in the generator's forward pass and in phase retrieval for the last call."""

    forward: float = 0.0
    inversion: float = 0.0


@dataclass
class LoadedGenerator:
    """A trained generator with the front end (and descriptor config) it was trained with."""

    generator: TextureGenerator | StyleGenerator
    frontend: Frontend
    descriptor_config: DescriptorConfig
    hparams: dict
    timings: Timings = field(default_factory=Timings)

    @property
    def sample_rate(self) -> int:
        return self.frontend.sample_rate

    def build_descriptor(self):
        """The exact frozen descriptor the generator was trained against."""
        return build_descriptor(self.frontend.n_freq, self.descriptor_config)

    @property
    def is_waveform(self) -> bool:
        """True for a phase-free generator (its output is audio; no phase retrieval)."""
        return isinstance(self.generator, WaveformGenerator)

    @torch.no_grad()
    def generate_spec(self, seconds: float, seed: int = 0, start_frame: int = 0) -> torch.Tensor:
        """Log-magnitude ``(freq, frames)`` of ``seconds`` of texture, in one forward pass (for a
        waveform generator: the complex STFT ``(freq, frames)`` it emits; see :meth:`invert`)."""
        if not isinstance(self.generator, TextureGenerator):
            raise ValueError("this checkpoint holds a style-transfer generator: use stylize()")
        if not seconds > 0:
            raise ValueError(f"seconds must be positive, got {seconds}")
        t0 = time.perf_counter()
        spec = self.generator.generate(self.frontend.frames_for_seconds(seconds), seed=seed, start=start_frame)
        self.timings.forward = time.perf_counter() - t0
        return spec

    @torch.no_grad()
    def invert(self, spec: torch.Tensor, n_iter: int | None = None, seed: int = 0) -> torch.Tensor:
        """Audio ``(samples,)`` from :meth:`generate_spec`'s output: one inverse STFT for a waveform
        generator's complex frames, else phase retrieval (Griffin-Lim)."""
        t0 = time.perf_counter()
        if spec.is_complex():
            wave = self.frontend.istft(spec[None])[0]
        else:
            wave = self.frontend.inverse(spec[None], n_iter=n_iter, seed=seed)[0]
        self.timings.inversion = time.perf_counter() - t0
        return wave

    def log_magnitude(self, spec: torch.Tensor) -> torch.Tensor:
        """A log-magnitude picture of :meth:`generate_spec`'s output."""
        return self.frontend.to_log(spec.abs()) if spec.is_complex() else spec

    def generate(self, seconds: float, seed: int = 0, n_iter: int | None = None) -> torch.Tensor:
        """Waveform ``(samples,)`` of ``seconds`` of texture; each seed gives another texture."""
        return self.invert(self.generate_spec(seconds, seed), n_iter, seed)

    @torch.no_grad()
    def stylize_spec(self, content_wave: torch.Tensor, seed: int = 0) -> torch.Tensor:
        if not isinstance(self.generator, StyleGenerator):
            raise ValueError("this checkpoint holds a texture generator: use generate()")
        t0 = time.perf_counter()
        spec = self.generator(self.frontend(content_wave[None] if content_wave.dim() == 1 else content_wave), seed=seed)[0]
        self.timings.forward = time.perf_counter() - t0
        return spec

    def stylize(self, content_wave: torch.Tensor, seed: int = 0, n_iter: int | None = None) -> torch.Tensor:
        """Stylised waveform ``(samples,)`` of a content waveform, in one forward pass + inversion."""
        return self.invert(self.stylize_spec(content_wave, seed), n_iter, seed)


def read_checkpoint(path: str | os.PathLike) -> dict:
    """Load a checkpoint's tensors and plain data only (``weights_only``: no code from the file runs)."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p}: no such checkpoint file")
    try:
        ckpt = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any failure here means "not a usable checkpoint"
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"{p}: not a loadable texnet checkpoint ({first[:160]})") from None
    hp = ckpt.get("hyper_parameters") if isinstance(ckpt, dict) else None
    if not isinstance(hp, dict) or ckpt.get("texnet_format") != CHECKPOINT_FORMAT or "state_dict" not in ckpt:
        raise CheckpointError(f"{p}: not a texnet generator checkpoint (written by another program?)")
    return ckpt


def load_generator(path: str | os.PathLike, device: str | torch.device = "cpu") -> LoadedGenerator:
    """Rebuild the generator, its front end and descriptor config from a training checkpoint."""
    ckpt = read_checkpoint(path)
    hp = ckpt["hyper_parameters"]
    frontend = build_frontend(FrontendConfig(**hp["frontend"]))
    gen = build_generator(frontend.n_freq, GeneratorConfig(**hp["generator"]), frontend.hop_length)
    sd = {k[len("generator."):]: v for k, v in ckpt["state_dict"].items() if k.startswith("generator.")}
    try:
        gen.load_state_dict(sd)
    except RuntimeError as e:
        raise CheckpointError(f"{path}: generator weights do not match its config ({str(e).splitlines()[0]})") from None
    gen.eval().to(device)
    return LoadedGenerator(gen, frontend.to(device), DescriptorConfig(**hp["descriptor"]), hp)
