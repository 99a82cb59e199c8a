"""The tone guard: a penalty on narrow spectral peaks (steady tones) that the target does not have.

A steady tone is one bin of a fine spectrum, so the texture statistics (band envelopes tens of bins wide,
a descriptor's whole-spectrum activations) hardly see it, while a listener hears a hum or a whistle.
The guard looks where a tone shows: the long-term power spectrum of ``TONE_N_FFT``-point Hann frames,
in dB, less its running mean over ``TONE_WIDTH_BINS`` bins (the spectrum's *ripple*), between
``TONE_BAND_HZ``. It penalises only the candidate's ripple that rises more than ``TONE_MARGIN_DB`` above
the target's in the same bin, so the source's own lines and broad shape are free; the penalty is the
mean over the band of the squared excess in units of ``TONE_SCALE_DB``. In a style transfer the content's
lines (a voice's harmonics, an instrument's notes) are the content's to keep: the guard then allows, in
each bin, the higher of the target's and the content's ripple.

    guard = ToneGuard(22050)
    guard.set_target([wave])          # waveforms (samples,)
    penalty = guard(candidates)       # (batch, samples) -> (batch,); pooled=True: (1,)

Why the guard and its settings: ``bench/RESULTS.md``, "Spectral lines".
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .pooling import mix_stats, time_mean

TONE_N_FFT = 8192  # 2.7 Hz bins at 22.05 kHz: a tone stands out of noise by the window's gain
TONE_WIDTH_BINS = 41  # the running mean that stands for the smooth spectrum (110 Hz at 22.05 kHz)
TONE_BAND_HZ = (50.0, 4000.0)  # where the generators put their lines; above, real textures rarely have any
TONE_MARGIN_DB = 1.0
TONE_SCALE_DB = 3.0
POWER_FLOOR = 1e-12  # of the mean power: a quiet bin has a finite level
ABSOLUTE_FLOOR = 1e-20  # the least mean power the floor is taken of: silence keeps a finite gradient in float32


def ripple_db(power: torch.Tensor, width: int = TONE_WIDTH_BINS) -> torch.Tensor:
    """A power spectrum's level in dB less the running mean of that level over ``width`` bins (edges
    replicated): ``(..., bins) -> (..., bins)``."""
    level = 10 * torch.log10(power + POWER_FLOOR * power.mean(-1, keepdim=True).clamp_min(ABSOLUTE_FLOOR))
    shape = level.shape
    flat = level.reshape(-1, 1, shape[-1])
    smooth = F.avg_pool1d(F.pad(flat, (width // 2, width // 2), mode="replicate"), width, 1)
    return level - smooth.reshape(shape)


class ToneGuard(nn.Module):
    """The tone guard of ``sample_rate`` audio; ``forward(x (batch, samples), pooled) -> (batch,)`` or ``(1,)``."""

    def __init__(self, sample_rate: int, n_fft: int = TONE_N_FFT):
        super().__init__()
        self.n_fft = int(n_fft)
        hz = torch.arange(self.n_fft // 2 + 1) * sample_rate / self.n_fft
        inside = ((hz >= TONE_BAND_HZ[0]) & (hz <= TONE_BAND_HZ[1])).nonzero()[:, 0].tolist()
        self.band = slice(inside[0], inside[-1] + 1)  # a slice, not a mask: no device sync per call
        self.register_buffer("window", torch.hann_window(self.n_fft), persistent=False)
        self.register_buffer("target", torch.zeros(len(inside)), persistent=False)
        self.register_buffer("content", None, persistent=False)  # the stored content's ripple, if any

    def min_samples(self) -> int:
        return self.n_fft

    def power(self, wave: torch.Tensor) -> torch.Tensor:
        """Each waveform's ``(batch, samples)`` frames' power ``(batch, bins, frames)``."""
        spec = torch.stft(wave.float(), self.n_fft, self.n_fft // 4, window=self.window, return_complex=True)
        return spec.real.square() + spec.imag.square()

    @torch.no_grad()
    def set_target(self, waves: Sequence[torch.Tensor], weights: Sequence[float] | None = None) -> None:
        """The target ripple of source waveforms ``(samples,)``: that of their long-term spectra mixed with
        ``weights`` (multi-texture)."""
        power = mix_stats([[self.power(w[None])[0].mean(-1)] for w in waves], weights)[0]
        self.target = ripple_db(power)[self.band]

    def ripple(self, x: torch.Tensor, pooled: bool = False) -> torch.Tensor:
        """The band's ripple of waveforms ``(batch, samples)``: ``(batch, bins)``, pooled ``(1, bins)``."""
        with torch.autocast(x.device.type, enabled=False):
            return ripple_db(time_mean(self.power(x), pooled))[:, self.band]

    @torch.no_grad()
    def set_content(self, wave: torch.Tensor | None) -> None:
        """Allow a content waveform's ``(samples,)`` lines too (None: the target's only)."""
        self.content = None if wave is None else self.ripple(wave[None])[0]

    def forward(self, x: torch.Tensor, pooled: bool = False, content: torch.Tensor | None = None) -> torch.Tensor:
        """``content``: a content per item ``(batch, samples)`` (a style-transfer generator's), whose lines
        are allowed instead of the stored content's."""
        allowed = self.target
        if content is not None:
            with torch.no_grad():
                allowed = torch.maximum(allowed, self.ripple(content, pooled))
        elif self.content is not None:
            allowed = torch.maximum(allowed, self.content)
        excess = torch.relu(self.ripple(x, pooled) - allowed - TONE_MARGIN_DB)  # float32: ripple leaves autocast
        return (excess / TONE_SCALE_DB).square().mean(-1)
