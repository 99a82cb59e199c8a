"""Front ends: waveform ``(batch, samples)`` <-> log-magnitude spectrogram ``(batch, freq, time)``.

Two interchangeable front ends share one interface (:class:`Frontend`):

- :class:`STFTFrontend`: linear-frequency STFT (torchaudio), ``log1p`` of the magnitude; inverse by fast
  Griffin-Lim (Perraudin et al. 2013). Differentiable, so the waveform itself can be optimised through it.
- :class:`CQTFrontend`: constant-Q (librosa), the paper's alternative frequency scaling; inverse by
  librosa's Griffin-Lim for CQT. Not differentiable (librosa works on numpy).

Both use centred frames, so a waveform of ``n`` samples gives ``1 + n // hop`` frames and time converts
exactly between seconds, frames and samples.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import torch
import torchaudio
from torch import nn

from .audio import check_sample_rate


@dataclass
class FrontendConfig:
    """Everything needed to rebuild a front end exactly (stored in checkpoints); the defaults are the
    recommended generator's frames (the paper's: ``n_fft 1024, hop_length 256, scale log1p``).

    ``kind`` picks STFT or CQT; ``n_fft``/``window`` apply to the STFT, ``fmin``/``n_bins``/
    ``bins_per_octave`` to the CQT; ``griffin_lim_iters``/``momentum`` to either inverse.
    ``scale`` is what the descriptor sees: ``"log1p"`` = ``log1p(|X|)`` (the paper's), or ``"power"`` =
    ``log1p(|X|^2 / P0)`` with ``P0`` the mean bin power of white noise at the loader's normalised level
    (``TARGET_RMS^2 * sum(window^2)``), i.e. log1p of power relative to a typical clip's mean (STFT only);
    None: ``"power"`` for the STFT, ``"log1p"`` for the CQT.
    """

    kind: Literal["stft", "cqt"] = "stft"
    sample_rate: int = 22050
    hop_length: int = 512
    n_fft: int = 2048
    window: Literal["hann", "hamming", "blackman"] = "hann"
    fmin: float = 32.703  # C1
    n_bins: int = 192
    bins_per_octave: int = 24
    griffin_lim_iters: int = 64
    momentum: float = 0.99
    scale: Literal["log1p", "power"] | None = None


class Frontend(nn.Module):
    """Common interface: ``forward(wave)`` -> log-magnitude, ``inverse(spec)`` -> wave, time conversions."""

    def __init__(self, config: FrontendConfig):
        super().__init__()
        check_sample_rate(config.sample_rate)
        if config.hop_length < 1:
            raise ValueError(f"hop_length must be >= 1, got {config.hop_length}")
        self.config = config
        self.scale = config.scale or ("power" if config.kind == "stft" else "log1p")
        self.sample_rate = config.sample_rate
        self.hop_length = config.hop_length

    @property
    def n_freq(self) -> int:
        raise NotImplementedError  # pragma: no cover - abstract

    def frequencies(self) -> torch.Tensor:
        """Centre frequency in Hz of each of the ``n_freq`` bins."""
        raise NotImplementedError  # pragma: no cover - abstract

    @property
    def frame_rate(self) -> float:
        """Frames per second."""
        return self.sample_rate / self.hop_length

    def frames_for_samples(self, n_samples: int) -> int:
        """Frames produced for a waveform of ``n_samples`` (centred framing)."""
        return 1 + n_samples // self.hop_length

    def samples_for_frames(self, n_frames: int) -> int:
        """Samples of the waveform the inverse returns for ``n_frames`` frames."""
        return (n_frames - 1) * self.hop_length

    @property
    def window_samples(self) -> int:
        """The shortest audio its analysis takes: one window (the STFT's ``n_fft``; centred framing pads by half of
        one), four hops for a front end without one."""
        return 4 * self.hop_length

    def samples_for_seconds(self, seconds: float) -> int:
        """Samples of ``seconds`` of audio (rounded)."""
        return int(round(seconds * self.sample_rate))

    def frames_to_cover(self, n_samples: int) -> int:
        """The fewest frames whose inverse (:meth:`samples_for_frames`) holds ``n_samples``: a synthesis makes
        these and cuts its audio to the length asked (an analysis of ``n_samples`` has one frame fewer unless
        they are whole hops)."""
        return 1 + -(-int(n_samples) // self.hop_length)

    def frames_for_seconds(self, seconds: float) -> int:
        """Frames a synthesis of ``seconds`` makes (:meth:`frames_to_cover`)."""
        return self.frames_to_cover(self.samples_for_seconds(seconds))

    def pad_to_hops(self, wave: torch.Tensor) -> torch.Tensor:
        """``wave`` ``(..., samples)`` reflected past its end to whole hops, so that its analysis frames cover
        it (:meth:`frames_to_cover`) and a synthesis from them can be cut back to its length."""
        extra = -wave.shape[-1] % self.hop_length
        if not extra:
            return wave
        shape = wave.shape
        flat = wave.reshape(-1, 1, shape[-1])
        if extra < shape[-1]:
            flat = torch.nn.functional.pad(flat, (0, extra), mode="reflect")
        else:
            flat = torch.nn.functional.pad(flat, (0, extra))
        return flat.reshape(*shape[:-1], shape[-1] + extra)

    def seconds_for_frames(self, n_frames: int) -> float:
        return self.samples_for_frames(n_frames) / self.sample_rate

    power_ref: float = 1.0  # P0 of the "power" scale; set by front ends that support it

    def to_log(self, mag: torch.Tensor) -> torch.Tensor:
        """Linear magnitude -> the log-magnitude the descriptor sees (see ``FrontendConfig.scale``)."""
        if self.scale == "power":
            return torch.log1p(mag.square() / self.power_ref)
        return torch.log1p(mag)

    def to_magnitude(self, spec: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`to_log`."""
        # A spectrogram from an optimiser may dip below zero by rounding; magnitudes cannot.
        if self.scale == "power":
            return torch.sqrt(torch.expm1(spec.clamp_min(0.0)) * self.power_ref)
        return torch.expm1(spec.clamp_min(0.0))

    def magnitude(self, wave: torch.Tensor) -> torch.Tensor:
        """Linear magnitude ``(batch, freq, time)`` of ``wave`` ``(batch, samples)``."""
        raise NotImplementedError  # pragma: no cover - abstract

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """``(batch, samples)`` or ``(samples,)`` -> log-magnitude ``(batch, freq, time)``."""
        if wave.dim() == 1:
            wave = wave.unsqueeze(0)
        if wave.dim() != 2:
            raise ValueError(f"expected a waveform (batch, samples), got shape {tuple(wave.shape)}")
        return self.to_log(self.magnitude(wave))

    def inverse(
        self,
        spec: torch.Tensor,
        n_iter: int | None = None,
        seed: int = 0,
        length: int | None = None,
    ) -> torch.Tensor:
        """Log-magnitude ``(batch, freq, time)`` -> waveform ``(batch, samples)`` by phase retrieval."""
        raise NotImplementedError  # pragma: no cover - abstract

    def describe(self) -> dict:
        return asdict(self.config)


class STFTFrontend(Frontend):
    """Linear STFT log-magnitude, ``log1p(|STFT|)``, with fast Griffin-Lim inversion."""

    def __init__(self, config: FrontendConfig | None = None):
        config = config or FrontendConfig(kind="stft")
        super().__init__(config)
        if config.n_fft < 2 or config.hop_length > config.n_fft:
            raise ValueError(f"need n_fft >= 2 and hop_length <= n_fft, got n_fft={config.n_fft}, hop={config.hop_length}")
        windows = {"hann": torch.hann_window, "hamming": torch.hamming_window, "blackman": torch.blackman_window}
        if config.window not in windows:
            raise ValueError(f"unknown window {config.window!r}; choose from {sorted(windows)}")
        window_fn = windows[config.window]
        self.n_fft = config.n_fft
        self.spectrogram = torchaudio.transforms.Spectrogram(
            n_fft=config.n_fft, hop_length=config.hop_length, window_fn=window_fn, power=None, center=True
        )
        if self.scale not in ("log1p", "power"):
            raise ValueError(f"unknown scale {config.scale!r} (expected 'log1p' or 'power')")
        from .audio import TARGET_RMS

        self.power_ref = float(TARGET_RMS**2 * self.spectrogram.window.square().sum())

    @property
    def window_samples(self) -> int:
        return self.n_fft

    @property
    def n_freq(self) -> int:
        return self.n_fft // 2 + 1

    def frequencies(self) -> torch.Tensor:
        return torch.linspace(0, self.sample_rate / 2, self.n_freq)

    @property
    def window(self) -> torch.Tensor:
        return self.spectrogram.window

    def complex_stft(self, wave: torch.Tensor) -> torch.Tensor:
        """Complex STFT ``(batch, freq, time)``; differentiable."""
        return self.spectrogram(wave)

    def magnitude(self, wave: torch.Tensor) -> torch.Tensor:
        c = self.complex_stft(wave)
        if not c.requires_grad:
            return c.abs()
        # |z| has no gradient at z = 0 (NaN); a 1e-12 floor under the root keeps waveform optimisation finite
        return torch.sqrt(c.real.square() + c.imag.square() + 1e-12)

    def istft(self, stft: torch.Tensor, length: int | None = None) -> torch.Tensor:
        """Complex ``(batch, freq, time)`` -> waveform ``(batch, samples)``."""
        return torch.istft(
            stft, self.n_fft, self.hop_length, window=self.window.to(stft.real.dtype), center=True, length=length
        )

    @torch.no_grad()
    def inverse(self, spec, n_iter=None, seed=0, length=None):
        if spec.dim() == 2:
            spec = spec.unsqueeze(0)
        if spec.shape[-2] != self.n_freq:
            raise ValueError(f"spectrogram has {spec.shape[-2]} bins, this STFT front end has {self.n_freq}")
        from .griffin_lim import GriffinLim

        n_iter = self.config.griffin_lim_iters if n_iter is None else n_iter
        return GriffinLim(self, n_iter, self.config.momentum)(self.to_magnitude(spec), seed, length)


class CQTFrontend(Frontend):
    """Constant-Q log-magnitude, ``log1p(|CQT|)`` (librosa), with Griffin-Lim for CQT as inverse.

    Computed on the CPU in numpy, so it carries no gradient: use it wherever a spectrogram (not a
    waveform) is optimised or generated.
    """

    def __init__(self, config: FrontendConfig | None = None):
        config = config or FrontendConfig(kind="cqt")
        super().__init__(config)
        nyquist = config.sample_rate / 2
        if not (config.fmin > 0 and math.isfinite(config.fmin)) or config.n_bins < 1 or config.bins_per_octave < 1:
            raise ValueError("CQT needs a finite fmin > 0, n_bins >= 1 and bins_per_octave >= 1")
        # librosa's own condition: the top filter's upper band edge (Hann bandwidth 1.50018 bins of Q)
        # must stay below Nyquist, not just its centre.
        edge = 1 + 0.5 * 1.50018 * (2 ** (1 / config.bins_per_octave) - 1)
        top = config.fmin * 2 ** ((config.n_bins - 1) / config.bins_per_octave)
        if top * edge >= nyquist:
            max_bins = 1 + int(math.floor(config.bins_per_octave * math.log2(nyquist / edge / config.fmin)))
            raise ValueError(
                f"CQT top bin {top:.0f} Hz is above Nyquist ({nyquist:.0f} Hz): use n_bins <= {max_bins} "
                f"for fmin={config.fmin} Hz and {config.bins_per_octave} bins per octave"
            )
        if self.scale != "log1p":
            raise ValueError(f"the CQT front end supports scale 'log1p' only, got {config.scale!r}")
        n_octaves = math.ceil(config.n_bins / config.bins_per_octave)
        if config.hop_length % (2 ** max(n_octaves - 1, 0)):
            raise ValueError(
                f"CQT hop_length {config.hop_length} must be a multiple of 2^(octaves-1) = {2 ** (n_octaves - 1)}"
            )
        self.register_buffer("_freqs", torch.from_numpy(self._librosa_freqs()).float(), persistent=False)

    def _librosa_freqs(self) -> np.ndarray:
        import librosa

        c = self.config
        return librosa.cqt_frequencies(n_bins=c.n_bins, fmin=c.fmin, bins_per_octave=c.bins_per_octave)

    @property
    def n_freq(self) -> int:
        return self.config.n_bins

    def frequencies(self) -> torch.Tensor:
        return self._freqs.clone()

    def magnitude(self, wave: torch.Tensor) -> torch.Tensor:
        import librosa

        if wave.requires_grad:
            raise ValueError("the CQT front end is not differentiable; optimise a spectrogram, or use the STFT")
        c = self.config
        y = wave.detach().cpu().numpy().astype(np.float32)
        mag = np.abs(
            librosa.cqt(
                y, sr=c.sample_rate, hop_length=c.hop_length, fmin=c.fmin, n_bins=c.n_bins,
                bins_per_octave=c.bins_per_octave,
            )
        )
        return torch.from_numpy(mag.astype(np.float32)).to(wave.device)

    @torch.no_grad()
    def inverse(self, spec, n_iter=None, seed=0, length=None):
        import librosa

        if spec.dim() == 2:
            spec = spec.unsqueeze(0)
        if spec.shape[-2] != self.n_freq:
            raise ValueError(f"spectrogram has {spec.shape[-2]} bins, this CQT front end has {self.n_freq}")
        c = self.config
        n_iter = c.griffin_lim_iters if n_iter is None else n_iter
        length = length if length is not None else self.samples_for_frames(spec.shape[-1])
        mag = self.to_magnitude(spec).cpu().numpy()
        y = librosa.griffinlim_cqt(
            mag, sr=c.sample_rate, n_iter=n_iter, hop_length=c.hop_length, fmin=c.fmin,
            bins_per_octave=c.bins_per_octave, momentum=c.momentum, random_state=int(seed), length=length,
        )
        return torch.from_numpy(np.atleast_2d(y).astype(np.float32)).to(spec.device)


def build_frontend(config: FrontendConfig) -> Frontend:
    """The front end a config describes."""
    if config.kind == "stft":
        return STFTFrontend(config)
    if config.kind == "cqt":
        return CQTFrontend(config)
    raise ValueError(f"unknown front end kind {config.kind!r} (expected 'stft' or 'cqt')")
