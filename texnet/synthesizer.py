"""The synthesiser: generator + front end + inversion, the ONE piece that turns noise (or a content
sound) into audio. Training renders through it, and so do ``generate``, ``stream`` and the Python API.

    synth = texnet.load_generator("runs/quickstart/last.ckpt")   # a Synthesizer
    wave = synth.generate(seconds=60, seed=3)                     # (samples,) float32 at synth.sample_rate

What the loss judges is :meth:`Synthesizer.render`'s output: audio ``(batch, samples)`` for the
phase-free waveform generator (one inverse STFT of the complex frames it emits), the front end's
log-magnitude ``(batch, freq, time)`` for the paper's magnitude and style-transfer generators, whose
audio then comes from Griffin-Lim.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from .descriptors import DescriptorConfig, build_descriptor
from .frontends import Frontend
from .generators import StyleGenerator, TextureGenerator, WaveformGenerator, WaveformStyleGenerator
from .noise import mix64


def render_offsets(seeds: torch.Tensor, hop: int) -> torch.Tensor:
    """Where a training excerpt starts within a generator frame: ``(batch,)`` samples in ``[0, hop)``, a hash
    of the noise seeds ``(batch,)`` int64 (so a step, and a resumed run, renders the same audio)."""
    return torch.remainder(mix64(seeds), hop)


@dataclass
class Timings:
    """Seconds spent in the generator's forward pass and in phase retrieval by the last call."""

    forward: float = 0.0
    inversion: float = 0.0


class Synthesizer(nn.Module):
    """A generator with the front end it was trained with.

    ``descriptor_config``/``hparams`` (from a checkpoint) let an evaluation rebuild the exact loss the
    generator was trained against.
    """

    def __init__(self, generator: nn.Module, frontend: Frontend, descriptor_config: DescriptorConfig | None = None,
                 hparams: dict | None = None):
        super().__init__()
        self.generator = generator
        self.frontend = frontend
        self.descriptor_config = descriptor_config or DescriptorConfig()
        self.hparams = dict(hparams or {})
        self.timings = Timings()

    @property
    def sample_rate(self) -> int:
        return self.frontend.sample_rate

    @property
    def device(self) -> torch.device:
        return next(self.generator.parameters()).device

    @property
    def is_waveform(self) -> bool:
        """A phase-free generator: its output is audio, no phase retrieval."""
        return isinstance(self.generator, (WaveformGenerator, WaveformStyleGenerator))

    @property
    def is_style(self) -> bool:
        """A style-transfer generator: a content sound in (``stylize``), not noise."""
        return isinstance(self.generator, (StyleGenerator, WaveformStyleGenerator))

    @property
    def domain(self) -> str:
        """What :meth:`render` returns, and so the domain of the loss it is trained against."""
        return "waveform" if self.is_waveform else "spectrogram"

    def build_descriptor(self):
        """The exact frozen descriptor the generator was trained against (its first resolution's)."""
        return build_descriptor(self.frontend.n_freq, self.descriptor_config)

    # ---- training ------------------------------------------------------------------------------
    def render(self, like: torch.Tensor, seeds: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Candidates for the loss for a batch of real crops ``like`` ``(batch, samples)``, and the content
        they are compared with. A texture generator makes as many frames as the crops have from the noise
        of ``seeds`` (one per item; no content; a phase-free one's audio starts within a frame:
        :meth:`_excerpts`); a style generator stylises the crops (noise from
        ``seeds[0]``), its content the crops themselves for a phase-free one (whose audio has the crops'
        length), their log-magnitudes (its own input, one STFT) for the spectrogram-domain one."""
        if not self.is_style:
            n_frames = self.frontend.frames_for_samples(like.shape[-1])
            if self.is_waveform:
                return self._excerpts(n_frames, seeds), None
            return self.generator(self.generator.make_noise(n_frames, seeds)), None
        content, out = self._stylize_frames(like, seeds[0])
        if self.is_waveform:
            return self.frontend.istft(out, length=like.shape[-1]), like.float()
        return out, content

    def _excerpts(self, n_frames: int, seeds: Sequence[int]) -> torch.Tensor:
        """Audio ``(batch, samples_for_frames(n_frames))`` of a phase-free texture generator, one excerpt per
        seed, each starting :func:`render_offsets` samples after a frame of the generator (one frame more made).

        Begun on a frame, every analysis frame of the loss whose hop divides the generator's sat at the same
        place within the generator's frames, and the generators learnt what that grid sees: stream's envelopes
        met the auditory term's skew and missed the metric's, whose envelopes are not on it (``bench/RESULTS.md``,
        "Excerpts off the frame grid")."""
        fe = self.frontend
        out = self.generator(self.generator.make_noise(n_frames + 1, seeds))
        wave = fe.istft(out)
        offsets = render_offsets(torch.tensor([int(s) for s in seeds], dtype=torch.int64), fe.hop_length)
        index = offsets.to(wave.device)[:, None] + torch.arange(fe.samples_for_frames(n_frames), device=wave.device)
        return wave.gather(1, index)

    def _stylize_frames(self, wave: torch.Tensor, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """A style generator's input log-magnitudes and its output for waveforms ``(batch, samples)``."""
        with torch.no_grad():
            content = self.frontend(wave.float())
        return content, self.generator(content, seed=seed)

    @torch.no_grad()
    def set_start(self, waves: Sequence[torch.Tensor], weights: torch.Tensor) -> None:
        """Start the generator's output at the targets' mean spectrum (``waves`` ``(samples,)``, ``weights``
        normalised): a waveform generator's last layer makes linear magnitudes, the others log-magnitudes."""
        mean = sum(w * self.frontend(x)[0].mean(-1) for w, x in zip(weights, waves))
        self.generator.set_output_bias(self.frontend.to_magnitude(mean) if self.is_waveform else mean)

    # ---- inference -----------------------------------------------------------------------------
    @torch.no_grad()
    def generate_spec(self, seconds: float, seed: int = 0, start_frame: int = 0) -> torch.Tensor:
        """The generator's output ``(freq, frames)`` for ``seconds`` of texture in one forward pass: the
        complex STFT of a waveform generator, a log-magnitude otherwise (see :meth:`invert`)."""
        if not isinstance(self.generator, TextureGenerator):
            raise ValueError("this checkpoint holds a style-transfer generator: use stylize()")
        if not self.frontend.samples_for_seconds(seconds) > 0:
            raise ValueError(f"seconds must be at least one sample ({1 / self.sample_rate:.2g} s), got {seconds}")
        t0 = time.perf_counter()
        fe = self.frontend
        # at least a window's worth: phase retrieval analyses its own audio, which must outlast a window's padding
        n_frames = max(fe.frames_for_seconds(seconds), fe.frames_to_cover(fe.window_samples))
        spec = self.generator.generate(n_frames, seed=seed, start=start_frame)
        self.timings.forward = time.perf_counter() - t0
        return spec

    @torch.no_grad()
    def invert(self, spec: torch.Tensor, n_iter: int | None = None, seed: int = 0,
               length: int | None = None) -> torch.Tensor:
        """Audio ``(samples,)`` from a generator output ``(freq, frames)``: one inverse STFT of complex
        frames, else phase retrieval (Griffin-Lim, ``n_iter`` iterations); cut to ``length`` samples if given
        (at most :meth:`Frontend.samples_for_frames` of the frames: the frames a synthesis makes cover it)."""
        t0 = time.perf_counter()
        if spec.is_complex():
            wave = self.frontend.istft(spec[None])[0]
        else:
            wave = self.frontend.inverse(spec.float()[None], n_iter=n_iter, seed=seed)[0]
        if length is not None:
            if length > wave.shape[-1]:
                raise ValueError(f"{spec.shape[-1]} frames make {wave.shape[-1]} samples, fewer than {length}")
            wave = wave[:length]
        self.timings.inversion = time.perf_counter() - t0
        return wave

    def picture(self, spec: torch.Tensor) -> tuple[torch.Tensor, float]:
        """The log-magnitude of a generator output ``(freq, frames)`` decimated for a picture
        (:func:`texnet.reporting.decimate`: max-pooled, then logged), and its frame rate."""
        from .reporting import decimate

        small, k = decimate(spec.abs() if spec.is_complex() else spec)
        return (self.frontend.to_log(small) if spec.is_complex() else small), self.frontend.frame_rate / k

    def generate(self, seconds: float, seed: int = 0, n_iter: int | None = None) -> torch.Tensor:
        """Waveform ``(round(seconds * sample_rate),)`` of texture; each seed gives another texture."""
        return self.invert(self.generate_spec(seconds, seed), n_iter, seed,
                           length=self.frontend.samples_for_seconds(seconds))

    @torch.no_grad()
    def stylize_spec(self, content_wave: torch.Tensor, seed: int = 0) -> torch.Tensor:
        """The stylised output ``(freq, frames)`` of a content waveform ``(samples,)``: complex frames of a
        phase-free style generator, a log-magnitude otherwise (see :meth:`invert`); the frames cover the
        content (:meth:`Frontend.pad_to_hops`): cut the audio to its length."""
        if not self.is_style:
            raise ValueError("this checkpoint holds a texture generator: use generate()")
        window = self.frontend.window_samples
        if content_wave.shape[-1] < window:
            raise ValueError(f"content of {content_wave.shape[-1]} samples is shorter than one analysis window "
                             f"({window} samples, {window / self.sample_rate:.3f} s)")
        t0 = time.perf_counter()
        spec = self._stylize_frames(self.frontend.pad_to_hops(content_wave.reshape(1, -1)), seed)[1][0]
        self.timings.forward = time.perf_counter() - t0
        return spec

    def stylize(self, content_wave: torch.Tensor, seed: int = 0, n_iter: int | None = None) -> torch.Tensor:
        """Stylised waveform of a content waveform ``(samples,)``, as long, in one forward pass + inversion."""
        return self.invert(self.stylize_spec(content_wave, seed), n_iter, seed, length=content_wave.shape[-1])
