"""The objective on waveforms: descriptor statistics of the audio's spectrogram at one or several STFT resolutions.

The phase-free baseline and the waveform generator are judged on audio, so nothing ties them to the
front end's one time-frequency trade-off. With ``ObjectiveConfig.resolutions`` (a list of ``n_fft``)
the audio is analysed by one STFT per ``n_fft`` (hop ``n_fft // 4``), each with its own random descriptor
(seed offset by its index) and its own style/content targets, and the losses are averaged. A short window
sees the onsets of drops and crackles that a long one smears, a long window sees the fine spectral
lines a short one blurs (Antognini et al. 2019 report the same for multi-scale descriptors). Empty
``resolutions`` is the front end's own STFT and the given objective, unchanged.

``ObjectiveConfig.band_whitening`` (exponent ``a``) makes the descriptor see ``log1p(P / (P0 r^a))`` with
``r`` the target's long-term power per bin over its mean across bins, set with the style. On the
``power`` scale a bin 40 dB below the mean sits at ``log1p(1e-4) ~ 0``: the descriptor is blind to it.
Whitening lifts every bin to the same mean. Measured (rain, waveform generator, 300 steps): the nearly
empty 50 Hz band came out 0.71 decades too loud in the compressed-envelope statistics without whitening
(softplus magnitudes), 0.04 with it (and log-magnitude output). For the optimisation baseline it is
mixed (wind better, fire worse at exponent 1; see ``bench/RESULTS.md``).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import torch
from torch import nn

from .auditory import AuditoryStatistics, segment_frames
from .descriptors import DescriptorConfig, build_descriptor
from .frontends import Frontend, FrontendConfig, STFTFrontend
from .objectives import Losses, StyleMemory, TextureObjective

HOP_DIVISOR = 4  # hop = n_fft / 4: the usual 75 % overlap of a Hann window
WHITENING_FLOOR = 1e-6  # of the mean bin power: empty bins (above a recording's cut-off) are not lifted


class WaveObjective(nn.Module):
    """Style/content losses of waveforms ``(batch, samples)`` through one or more differentiable STFTs.

    Build with :meth:`build`; set targets with :meth:`set_style` / :meth:`set_content` (waveforms
    ``(samples,)``); ``objective(wave)`` returns :class:`Losses` ``(batch,)``, the mean over resolutions.
    """

    def __init__(self, frontends: Sequence[Frontend], objectives: Sequence[TextureObjective], whitening: float = 0.0,
                 auditory_weight: float = 0.0, auditory_segment_s: float = 0.75):
        super().__init__()
        if len(frontends) != len(objectives) or not frontends:
            raise ValueError("need one objective per front end, and at least one")
        for fe in frontends:
            if not isinstance(fe, STFTFrontend):
                raise ValueError("a waveform objective needs differentiable STFT front ends (not the CQT)")
        if not 0.0 <= whitening <= 1.0:
            raise ValueError(f"band_whitening must lie in [0, 1], got {whitening}")
        if whitening and any(fe.config.scale != "power" for fe in frontends):
            raise ValueError("band_whitening needs the front end's 'power' scale")
        self.frontends = nn.ModuleList(frontends)
        self.objectives = nn.ModuleList(objectives)
        self.whitening = float(whitening)
        for i, fe in enumerate(frontends):  # per-bin amplitude gains (freq, 1); ones until set_style
            self.register_buffer(f"_band_gain{i}", torch.ones(fe.n_freq, 1), persistent=False)
        if auditory_weight < 0:
            raise ValueError(f"auditory_weight must be >= 0, got {auditory_weight}")
        self.auditory_weight = float(auditory_weight)
        sr = frontends[0].config.sample_rate
        self.auditory = (AuditoryStatistics(sr, segment=segment_frames(auditory_segment_s, sr))
                         if auditory_weight else None)

    @classmethod
    def build(cls, frontend: Frontend, objective: TextureObjective) -> "WaveObjective":
        """The front end and objective themselves, or one STFT + descriptor + objective per resolution in
        ``objective.config.resolutions`` (same scale, window, descriptor and loss settings)."""
        cfg = objective.config
        resolutions = list(cfg.resolutions or [])
        terms = {"whitening": cfg.band_whitening, "auditory_weight": cfg.auditory_weight,
                 "auditory_segment_s": cfg.auditory_segment_s}
        if not resolutions:
            return cls([frontend], [objective], **terms)
        fe_cfg: FrontendConfig = frontend.config
        descriptor: DescriptorConfig = objective.descriptor.config
        frontends, objectives = [], []
        for i, n_fft in enumerate(resolutions):
            if n_fft < 2 * HOP_DIVISOR:
                raise ValueError(f"resolution n_fft={n_fft} is too small (need >= {2 * HOP_DIVISOR})")
            fe = STFTFrontend(replace(fe_cfg, kind="stft", n_fft=int(n_fft), hop_length=int(n_fft) // HOP_DIVISOR))
            desc = build_descriptor(fe.n_freq, replace(descriptor, seed=descriptor.seed + i))
            frontends.append(fe)
            objectives.append(TextureObjective(desc, objective.config))
        return cls(frontends, objectives, **terms).to(objective.layer_weights.device)

    @property
    def n_resolutions(self) -> int:
        return len(self.frontends)

    @property
    def owns_targets(self) -> bool:
        """Whether :meth:`set_style` must be called even when the front end's objective has its targets
        (several resolutions, whitened spectrograms or auditory statistics)."""
        return self.n_resolutions > 1 or self.whitening > 0 or self.auditory is not None

    def band_gain(self, i: int) -> torch.Tensor:
        """Resolution ``i``'s per-bin amplitude gain ``(freq, 1)``, ``r^(-a/2)`` (ones without whitening)."""
        return getattr(self, f"_band_gain{i}")

    def _seen(self, i: int, mag: torch.Tensor) -> torch.Tensor:
        """The front end's scale of a magnitude ``(batch, freq, time)``, whitened if asked:
        ``log1p((|X| g)^2 / P0) = log1p(P / (P0 r^a))``."""
        fe = self.frontends[i]
        return fe.to_log(mag * self.band_gain(i) if self.whitening else mag)

    def spectrogram(self, i: int, wave: torch.Tensor) -> torch.Tensor:
        """What resolution ``i``'s descriptor sees of ``wave`` ``(batch, samples)``: ``(batch, freq, time)``."""
        return self._seen(i, self.frontends[i].magnitude(wave))

    def min_samples(self) -> int:
        """Shortest waveform every resolution's descriptor (and the auditory statistics) can judge."""
        n = max(fe.samples_for_frames(obj.receptive_field) for fe, obj in zip(self.frontends, self.objectives))
        return n if self.auditory is None else max(n, self.auditory.min_samples())

    def margin_samples(self) -> int:
        """Samples a waveform needs on each side so its every kept sample lies under full descriptor windows."""
        return max((obj.receptive_field - 1) * fe.hop_length + fe.n_fft // 2
                   for fe, obj in zip(self.frontends, self.objectives))

    @torch.no_grad()
    def set_style(self, waves: Sequence[torch.Tensor], weights: Sequence[float] | None = None) -> None:
        """Style targets from waveforms ``(samples,)``, mixed with ``weights`` (and, with whitening, the
        per-bin references: the weighted long-term power of the sources)."""
        w = torch.ones(len(waves)) if weights is None else torch.as_tensor(weights, dtype=torch.float32)
        w = (w / w.sum()).tolist()
        for i, (fe, obj) in enumerate(zip(self.frontends, self.objectives)):
            mags = [fe.magnitude(x[None]) for x in waves]  # one STFT per source serves both steps
            if self.whitening:
                power = sum(wi * m[0].square().mean(-1) for wi, m in zip(w, mags))
                rel = power / power.mean().clamp_min(1e-30)
                self.band_gain(i).copy_(rel.clamp_min(WHITENING_FLOOR).pow(-0.5 * self.whitening)[:, None])
            obj.set_style([self._seen(i, m)[0] for m in mags], weights)
        if self.auditory is not None:
            self.auditory.set_target(waves, weights)

    @torch.no_grad()
    def set_content(self, wave: torch.Tensor | None) -> None:
        """Content target from a waveform ``(samples,)`` (or None)."""
        for i, obj in enumerate(self.objectives):
            obj.set_content(None if wave is None else self.spectrogram(i, wave[None])[0])

    def forward(self, wave: torch.Tensor) -> Losses:
        """``wave`` ``(batch, samples)`` -> :class:`Losses` ``(batch,)``, averaged over resolutions."""
        parts = [obj(self.spectrogram(i, wave)) for i, obj in enumerate(self.objectives)]
        n = len(parts)
        total, style, content = (sum(getattr(p, k) for p in parts) / n for k in Losses._fields)
        if self.auditory is not None:
            extra = self.auditory_weight * self.auditory.loss(wave, pooled=False)
            style = style + extra
            total = total + self.objectives[0].config.style_weight * extra
        return Losses(total, style, content)

    def style_and_acts(self, wave: torch.Tensor, pooled: bool = False,
                       memories: Sequence[StyleMemory] | None = None) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Style loss ``(batch,)`` (``(1,)`` if ``pooled``, see :func:`~texnet.objectives.pool_batch`) of
        ``wave`` ``(batch, samples)``, mean over resolutions, and every resolution's descriptor activations
        (for the diversity term). ``memories``: one :class:`~texnet.objectives.StyleMemory` per resolution."""
        if memories is not None and len(memories) != self.n_resolutions:
            raise ValueError(f"{len(memories)} style memories for {self.n_resolutions} resolutions")
        total, acts = 0.0, []
        for i, obj in enumerate(self.objectives):
            spec = self.spectrogram(i, wave)
            a = obj.descriptor(spec)
            total = total + obj.style_from_acts(a, spec, pooled=pooled,
                                                memory=None if memories is None else memories[i])
            acts.extend(a)
        total = total / self.n_resolutions
        if self.auditory is not None:
            total = total + self.auditory_weight * self.auditory.loss(wave, pooled=pooled)
        return total, acts

    def style(self, wave: torch.Tensor, pooled: bool = False) -> torch.Tensor:
        """Style loss ``(batch,)`` (or pooled ``(1,)``) of ``wave`` ``(batch, samples)``, mean over resolutions."""
        return self.style_and_acts(wave, pooled)[0]
