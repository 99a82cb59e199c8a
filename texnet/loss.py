"""The texture loss: ONE objective, built by :func:`build_objective`, called the same way by the baseline,
the generator trainer and the end-of-training comparison.

    loss = build_objective(FrontendConfig(), DescriptorConfig(), ObjectiveConfig())   # the recipe
    loss.set_target([wave])                      # waveforms (samples,): the style source(s)
    terms = loss(candidate_waves)                # Losses, each (batch,)

A :class:`TextureLoss` is a sum of small term modules, each comparing one statistic of the candidate
with the target's:

- :class:`DescriptorStatistics`, once per STFT resolution: the mean and covariance (or the paper's Gram)
  of a fixed random descriptor's activations over time ("style": timbre without temporal order), and
  the activations themselves ("content": pitch and rhythm) for style transfer;
- :class:`LongTermSpectrum`, once per resolution: the time-averaged spectrum in a true log;
- :class:`~texnet.auditory.AuditoryStatistics`: band-envelope moments, correlations and modulation
  spectra of the audio (McDermott & Simoncelli 2011);
- :class:`~texnet.tones.ToneGuard`: narrow peaks of the long-term spectrum that the target lacks;
- :func:`diversity_loss` between batch items (Improved Texture Networks).

Each resolution sees the audio through a :class:`SpectrogramView` (its own differentiable STFT, each
bin's power optionally whitened by the target's). In the ``"spectrogram"`` domain (the paper's
variants: a spectrogram is optimised or generated, then inverted by Griffin-Lim) the candidate is the
front end's log-magnitude itself and only the descriptor and spectrum terms apply.

Style losses are *relative* squared errors, so they read the same for any descriptor width or input
level, and they average over time positions, which lets an output of ANY length be compared with a
target of another length (infinite textures). A multi-texture target is the weighted mixture of the
sources' statistics (means and second moments averaged with the weights, the covariance derived from
them). Why mean + covariance rather than the raw Gram, and the other choices: ``bench/RESULTS.md``.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal, NamedTuple, Sequence

import torch
from torch import nn

from .auditory import AuditoryStatistics, segment_frames
from .descriptors import Descriptor, DescriptorConfig, build_descriptor
from .frontends import Frontend, FrontendConfig, STFTFrontend, build_frontend
from .pooling import mix_stats, normalised_weights, pooled_sums, time_mean, world_size
from .tones import ToneGuard

HOP_DIVISOR = 4  # a resolution's hop = n_fft / 4: the usual 75 % overlap of a Hann window
SPECTRUM_FLOOR = 1e-6  # of the target's mean level: the long-term spectrum's log floor
WHITENING_FLOOR = 1e-6  # of the mean bin power: empty bins (above a recording's cut-off) are not lifted


@dataclass
class ObjectiveConfig:
    """The loss terms and their weights; the defaults are the recommended recipe.

    ``statistic``: ``"mean_cov"`` (mean and covariance of the activations, each compared relatively) or
    the paper's ``"gram"``. ``style_layers``/``content_layers`` index the descriptor's outputs (``None``:
    every output for style, the last one for content); ``layer_weights`` weight the style layers
    (``None``: equal). ``resolutions``: one STFT (hop ``n_fft // 4``) with its own descriptor (seed offset
    by its index) per listed ``n_fft``; empty: the front end's own STFT. ``band_whitening`` (exponent 0-1,
    ``scale: power`` only) divides each bin's power by the target's long-term power in that bin raised to
    it, so quiet bands count. ``spectrum_weight``: the long-term spectrum term. ``auditory_weight``: the
    auditory statistics term, whose Welch segments last ``auditory_segment_s`` (sets the slowest
    modulation band judged; training crops must be longer). ``tone_weight``: the tone guard
    (:mod:`texnet.tones`) against steady tones the target lacks. ``diversity_weight``: pushes the outputs of
    different noise apart. ``resolutions``, ``band_whitening``, ``auditory_weight`` and ``tone_weight`` judge
    audio: the spectrogram domain (the paper's variants) needs them empty / 0.
    """

    statistic: Literal["mean_cov", "gram"] = "mean_cov"
    style_weight: float = 1.0
    content_weight: float = 1.0
    style_layers: list[int] | None = None
    content_layers: list[int] | None = None
    layer_weights: list[float] | None = None
    resolutions: list[int] = field(default_factory=lambda: [128, 512, 2048])
    spectrum_weight: float = 1.0
    band_whitening: float = 0.5
    auditory_weight: float = 3.0
    auditory_segment_s: float = 3.0
    tone_weight: float = 3.0
    diversity_weight: float = 0.0


class Losses(NamedTuple):
    """Loss terms per candidate, each ``(batch,)`` (``(1,)`` for pooled statistics); ``total`` is
    what is minimised. ``parts``: the style's terms before their weights (``descriptor`` and ``spectrum``,
    means over the resolutions; ``auditory``; ``tones``), for the logs."""

    total: torch.Tensor
    style: torch.Tensor
    content: torch.Tensor
    diversity: torch.Tensor
    parts: dict[str, torch.Tensor] | None = None


def pool_batch(x: torch.Tensor) -> torch.Tensor:
    """``(batch, channels, positions)`` -> ``(1, channels, batch * positions)``: the items side by side.

    A generator is trained on the statistics of its whole batch of crops, not on the mean of per-crop
    losses: that would ask every short crop to carry the source's long-term statistics, which real audio
    does not do, and the generator would learn smooth, eventless sound.
    """
    return x.transpose(0, 1).reshape(x.shape[1], -1).unsqueeze(0)


class _Gram(torch.autograd.Function):
    """``a aᵀ / n`` whose backward is one product, ``(g + gᵀ) a / n``, where autograd's takes two and a sum."""

    @staticmethod
    def forward(ctx, act: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(act)
        return act @ act.transpose(1, 2) / act.shape[-1]

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (act,) = ctx.saved_tensors
        return ((grad + grad.transpose(1, 2)) / act.shape[-1]) @ act


def gram(act: torch.Tensor) -> torch.Tensor:
    """``(batch, channels, positions)`` -> ``(batch, channels, channels)``, averaged over positions."""
    return _Gram.apply(act)


def diversity_loss(acts: list[torch.Tensor]) -> torch.Tensor:
    """Negative mean distance between the activations ``(batch, channels, positions)`` of batch items made
    from different noise (Ulyanov et al. 2017): minimising it pushes outputs apart. Scalar; 0 for one item."""
    if acts[0].shape[0] < 2:
        return acts[0].new_zeros(())
    total = acts[0].new_zeros(())
    for a in acts:
        flat = a.flatten(1)
        flat = flat / flat.norm(dim=1, keepdim=True).clamp_min(1e-8)
        # each item against the next one (a cyclic pairing keeps it O(batch))
        total = total - (flat - flat.roll(1, dims=0)).pow(2).sum(1).mean()
    return total / len(acts)


class DescriptorStatistics(nn.Module):
    """Style and content statistics of log-magnitude spectrograms ``(batch, freq, time)`` under a frozen
    descriptor, against targets set with :meth:`set_style` / :meth:`set_content`.

    Statistics are computed in float32 even under mixed precision: a relative error of second moments
    is a difference of large, nearly equal numbers, which bf16 cannot resolve.
    """

    def __init__(self, descriptor: Descriptor, config: ObjectiveConfig):
        super().__init__()
        if config.statistic not in ("mean_cov", "gram"):
            raise ValueError(f"unknown style statistic {config.statistic!r} (expected 'mean_cov' or 'gram')")
        self.descriptor = descriptor
        self.statistic = config.statistic
        n = descriptor.n_outputs
        self.style_layers = list(range(n)) if config.style_layers is None else list(config.style_layers)
        self.content_layers = [n - 1] if config.content_layers is None else list(config.content_layers)
        for idx in self.style_layers + self.content_layers:
            if not 0 <= idx < n:
                raise ValueError(f"layer index {idx} out of range: the descriptor has {n} outputs")
        lw = config.layer_weights
        if lw is not None and len(lw) != len(self.style_layers):
            raise ValueError(f"{len(lw)} layer weights for {len(self.style_layers)} style layers")
        w = torch.ones(len(self.style_layers)) if lw is None else torch.as_tensor(lw, dtype=torch.float32)
        self.register_buffer("layer_weights", w / w.sum(), persistent=False)
        self._n_style = 0
        self._n_content = 0

    @property
    def receptive_field(self) -> int:
        return self.descriptor.receptive_field

    # Targets live in (non-persistent) buffers so that .to(device) and Lightning move them with the module.
    def _store(self, prefix: str, tensors: Sequence[torch.Tensor]) -> int:
        for j, t in enumerate(tensors):
            self.register_buffer(f"{prefix}{j}", t.detach().clone(), persistent=False)
        return len(tensors)

    def _stored(self, prefix: str, n: int) -> list[torch.Tensor]:
        return [getattr(self, f"{prefix}{j}") for j in range(n)]

    @property
    def has_content(self) -> bool:
        return self._n_content > 0

    @torch.no_grad()
    def set_style(self, specs: Sequence[torch.Tensor], weights: Sequence[float] | None = None) -> None:
        """Targets from one or more style spectrograms ``(freq, time)`` mixed with ``weights``."""
        per_source = []
        for s in specs:
            acts = self.descriptor(s.unsqueeze(0) if s.dim() == 2 else s)
            per_source.append(([acts[i][0].mean(-1) for i in self.style_layers],
                               [gram(acts[i])[0] for i in self.style_layers]))
        means = mix_stats([m for m, _ in per_source], weights)
        grams = mix_stats([g for _, g in per_source], weights)
        second = [g - torch.outer(m, m) for m, g in zip(means, grams)] if self.statistic == "mean_cov" else grams
        self._n_style = self._store("_second", second)
        self._store("_second_norm", [g.pow(2).sum().clamp_min(1e-20) for g in second])
        self._store("_mean", means)
        self._store("_mean_norm", [m.pow(2).sum().clamp_min(1e-20) for m in means])

    @torch.no_grad()
    def set_content(self, spec: torch.Tensor | None) -> None:
        """Content target: the activations of one spectrogram ``(freq, time)`` (None: no content)."""
        if spec is None:
            self._n_content = 0
            return
        self._n_content = self._store("_content", self.content_acts(spec.unsqueeze(0) if spec.dim() == 2 else spec))

    def content_acts(self, spec: torch.Tensor) -> list[torch.Tensor]:
        """The content layers' activations ``(batch, channels, positions)`` of ``spec`` ``(batch, freq, time)``."""
        acts = self.descriptor(spec)
        return [acts[i] for i in self.content_layers]

    def style(self, acts: list[torch.Tensor], pooled: bool = False) -> torch.Tensor:
        """Style loss ``(batch,)`` of the descriptor outputs ``acts`` ``(batch, channels, positions)``;
        ``pooled``: one loss ``(1,)`` of the statistics over every position of every item (of every rank
        in a distributed run, :mod:`texnet.pooling`)."""
        if not self._n_style:
            raise RuntimeError("no style target: call set_target first")
        with torch.autocast(acts[0].device.type, enabled=False):
            loss = acts[0].new_zeros(1 if pooled else acts[0].shape[0], dtype=torch.float32)
            centre = self.statistic == "mean_cov"
            targets = zip(self.style_layers, self._stored("_second", self._n_style),
                          self._stored("_second_norm", self._n_style))
            for j, (i, target, norm) in enumerate(targets):
                mu, second = self._moments(acts[i].float(), pooled)
                term = (second - target).pow(2).sum((1, 2)) / norm
                if centre:
                    term = term + (mu - getattr(self, f"_mean{j}")).pow(2).sum(-1) / getattr(self, f"_mean_norm{j}")
                loss = loss + self.layer_weights[j] * term
            return loss

    def _moments(self, a: torch.Tensor, pooled: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean ``(b, C)`` and covariance (or, for the Gram statistic, second moment) ``(b, C, C)``."""
        centre = self.statistic == "mean_cov"
        if pooled and world_size() > 1:  # sums over every rank's crops
            s = pooled_sums(a, powers=1)
            mu = s["s1"] / s["n"]
            second = s["xx"] / s["n"] - (torch.outer(mu, mu) if centre else 0.0)
            return mu[None].float(), second[None].float()
        if pooled:
            a = pool_batch(a)
        mu = a.mean(-1)
        return mu, gram(a - mu.unsqueeze(-1)) if centre else gram(a)

    def content(self, acts: list[torch.Tensor], targets: list[torch.Tensor] | None = None) -> torch.Tensor:
        """Content loss ``(batch,)``: ``||A(x) - A(c)||^2 / ||A(c)||^2`` per content layer, averaged.

        ``targets`` (one ``(batch or 1, channels, positions)`` per content layer) replaces the stored
        content, e.g. when every batch item has its own content; the candidate must have its length."""
        targets = self._stored("_content", self._n_content) if targets is None else targets
        if not targets:
            return acts[0].new_zeros(acts[0].shape[0])
        with torch.autocast(acts[0].device.type, enabled=False):
            loss = acts[0].new_zeros(acts[0].shape[0], dtype=torch.float32)
            for i, c in zip(self.content_layers, targets):
                a, c = acts[i].float(), c.float()
                if a.shape[1:] != c.shape[1:]:
                    raise ValueError(f"content loss needs the candidate's length to match the content's: activations "
                                     f"{tuple(a.shape[1:])} vs content {tuple(c.shape[1:])}")
                loss = loss + (a - c).pow(2).sum((1, 2)) / c.pow(2).sum((1, 2)).clamp_min(1e-20)
            return loss / len(self.content_layers)


class LongTermSpectrum(nn.Module):
    """Squared error of the time-averaged spectrum in log10 units, mean over bins ``(batch,)``.

    The input is a view's ``log1p(u)`` (``u`` a magnitude or a relative power), so ``expm1`` recovers
    ``u``; its time average is compared in a TRUE log (floor ``SPECTRUM_FLOOR`` times the target's mean
    level). The descriptor sees ``log1p(u)``, which is nearly zero wherever the source is quiet; a log
    has no such dead zone. 1.0 = every bin 10x off in ``u``.
    """

    def __init__(self, n_freq: int):
        super().__init__()
        self.register_buffer("target", torch.zeros(n_freq), persistent=False)
        self.register_buffer("floor", torch.ones(()), persistent=False)

    @torch.no_grad()
    def set_target(self, specs: Sequence[torch.Tensor], weights: Sequence[float] | None = None) -> None:
        """From spectrograms ``(freq, time)``: linear spectra averaged with the weights, then the log."""
        lin = mix_stats([[torch.expm1(s.clamp_min(0)).mean(-1)] for s in specs], weights)[0]
        self.floor = SPECTRUM_FLOOR * lin.mean().clamp_min(1e-30)
        self.target = torch.log10(lin + self.floor)

    def forward(self, spec: torch.Tensor, pooled: bool = False) -> torch.Tensor:
        """``spec`` ``(batch, freq, time)`` -> ``(batch,)``; ``pooled``: ``(1,)``, the spectrum of every item
        (of every rank in a distributed run) together."""
        with torch.autocast(spec.device.type, enabled=False):
            lin = time_mean(torch.expm1(spec.float().clamp_min(0)), pooled)
            return (torch.log10(lin + self.floor) - self.target).pow(2).mean(-1)


class SpectrogramView(nn.Module):
    """What one resolution's descriptor sees of a waveform: ``log1p(P / (P0 r^a))``, the front end's
    scale of each bin's power ``P`` whitened by the target's relative long-term power ``r`` (exponent
    ``a``; 0: the front end's own scale). ``forward(wave (batch, samples)) -> (batch, freq, time)``."""

    def __init__(self, frontend: Frontend, whitening: float = 0.0):
        super().__init__()
        if not 0.0 <= whitening <= 1.0:
            raise ValueError(f"band_whitening must lie in [0, 1], got {whitening}")
        if whitening and frontend.scale != "power":
            raise ValueError("band_whitening needs the front end's 'power' scale")
        self.frontend = frontend
        self.whitening = float(whitening)
        self.register_buffer("gain", torch.ones(frontend.n_freq, 1), persistent=False)  # per-bin amplitude gain

    def from_magnitude(self, mag: torch.Tensor) -> torch.Tensor:
        return self.frontend.to_log(mag * self.gain if self.whitening else mag)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return self.from_magnitude(self.frontend.magnitude(wave))

    @torch.no_grad()
    def set_target(self, mags: Sequence[torch.Tensor], weights: Sequence[float] | None = None) -> None:
        """The whitening gains from the sources' magnitudes ``(freq, time)``."""
        if self.whitening:
            power = mix_stats([[m.square().mean(-1)] for m in mags], weights)[0]
            rel = power / power.mean().clamp_min(1e-30)
            self.gain = rel.clamp_min(WHITENING_FLOOR).pow(-0.5 * self.whitening)[:, None]


class TextureLoss(nn.Module):
    """The whole objective: descriptor statistics and long-term spectrum per resolution (averaged over
    resolutions), auditory statistics, tone guard, content and diversity, weighted by the :class:`ObjectiveConfig`.

    ``domain`` ``"waveform"``: candidates are audio ``(batch, samples)``, seen through ``views`` (one per
    resolution). ``"spectrogram"``: candidates are the ``frontend``'s log-magnitudes ``(batch, freq,
    time)`` (one resolution, no view). Build with :func:`build_objective`.
    """

    def __init__(self, config: ObjectiveConfig, frontend: Frontend, descriptors: Sequence[DescriptorStatistics],
                 views: Sequence[SpectrogramView] | None = None, auditory: AuditoryStatistics | None = None,
                 tones: ToneGuard | None = None):
        super().__init__()
        self.config = config
        self.frontend = frontend
        self.domain = "spectrogram" if views is None else "waveform"
        if views is not None and len(views) != len(descriptors):
            raise ValueError("need one descriptor per resolution")
        self.views = None if views is None else nn.ModuleList(views)
        self.descriptors = nn.ModuleList(descriptors)
        n_freqs = [frontend.n_freq] if views is None else [v.frontend.n_freq for v in views]
        self.spectra = nn.ModuleList(LongTermSpectrum(n) for n in n_freqs) if config.spectrum_weight else None
        self.auditory = auditory
        self.tones = tones

    @property
    def n_resolutions(self) -> int:
        return len(self.descriptors)

    @property
    def has_content(self) -> bool:
        return self.descriptors[0].has_content

    @property
    def receptive_field(self) -> int:
        """Frames of the front end the (spectrogram-domain) descriptor needs."""
        return self.descriptors[0].receptive_field

    def spectrogram(self, i: int, x: torch.Tensor) -> torch.Tensor:
        """What resolution ``i`` judges of a candidate: ``(batch, freq, time)``."""
        return x if self.views is None else self.views[i](x)

    def min_samples(self) -> int:
        """Shortest waveform every term can judge."""
        if self.views is None:
            return self.frontend.samples_for_frames(self.receptive_field)
        n = max(v.frontend.samples_for_frames(d.receptive_field) for v, d in zip(self.views, self.descriptors))
        for term in (self.auditory, self.tones):
            n = n if term is None else max(n, term.min_samples())
        return n

    @property
    def segments_set_min_samples(self) -> bool:
        """Whether the auditory term's modulation segments set :meth:`min_samples` (then a shorter
        ``auditory_segment_s`` lowers it: the too-short errors say so only then)."""
        return self.auditory is not None and self.auditory.min_samples() >= self.min_samples()

    def margin_samples(self) -> int:
        """Samples a waveform needs on each side so its every kept sample lies under full descriptor windows."""
        return max((d.receptive_field - 1) * v.frontend.hop_length + v.frontend.n_fft // 2
                   for v, d in zip(self.views, self.descriptors))

    def input_of(self, wave: torch.Tensor) -> torch.Tensor:
        """Audio ``(batch, samples)`` as this loss takes it: itself, or its log-magnitude (spectrogram domain)."""
        return wave if self.views is not None else self.frontend(wave)

    @torch.no_grad()
    def set_target(self, waves: Sequence[torch.Tensor], weights: Sequence[float] | None = None) -> None:
        """Style targets from source waveforms ``(samples,)``, mixed with ``weights`` (multi-texture)."""
        normalised_weights(weights, len(waves))  # one clear error for bad weights
        for i, desc in enumerate(self.descriptors):
            if self.views is None:
                specs = [self.frontend(w)[0] for w in waves]
            else:
                view = self.views[i]
                mags = [view.frontend.magnitude(w[None])[0] for w in waves]  # one STFT per source serves both
                view.set_target(mags, weights)
                specs = [view.from_magnitude(m) for m in mags]
            desc.set_style(specs, weights)
            if self.spectra is not None:
                self.spectra[i].set_target(specs, weights)
        for term in (self.auditory, self.tones):
            if term is not None:
                term.set_target(waves, weights)

    @torch.no_grad()
    def set_content(self, wave: torch.Tensor | None) -> None:
        """Content target from a waveform ``(samples,)`` (None: texture synthesis, no content)."""
        for i, desc in enumerate(self.descriptors):
            desc.set_content(None if wave is None else self.spectrogram(i, self.input_of(wave[None]))[0])
        if self.tones is not None:
            self.tones.set_content(wave)

    def forward(self, x: torch.Tensor, pooled: bool = False, content: torch.Tensor | None = None) -> Losses:
        """Loss terms of candidates ``x`` (the domain's input, batch first).

        ``pooled``: the style statistics of all items side by side (training a generator, see
        :func:`pool_batch`): style is then ``(1,)``. ``content``: a content per item, in ``x``'s
        domain and length (training a style-transfer generator), instead of the stored content.
        """
        style, content_loss, acts_all, parts = 0.0, 0.0, [], {"descriptor": 0.0}
        has_content = content is not None or self.has_content
        n = self.n_resolutions
        for i, desc in enumerate(self.descriptors):
            spec = self.spectrogram(i, x)
            acts = desc.descriptor(spec)
            acts_all.extend(acts)
            term = desc.style(acts, pooled)
            parts["descriptor"] = parts["descriptor"] + term.detach() / n
            if self.spectra is not None:
                spectrum = self.spectra[i](spec, pooled)
                parts["spectrum"] = parts.get("spectrum", 0.0) + spectrum.detach() / n
                term = term + self.config.spectrum_weight * spectrum
            style = style + term
            if has_content:
                targets = None
                if content is not None:
                    with torch.no_grad():
                        targets = desc.content_acts(self.spectrogram(i, content))
                content_loss = content_loss + desc.content(acts, targets)
        style = style / n
        if self.auditory is not None:
            auditory = self.auditory.loss(x, pooled=pooled)
            parts["auditory"] = auditory.detach()
            style = style + self.config.auditory_weight * auditory
        if self.tones is not None:
            tones = self.tones(x, pooled=pooled, content=content)
            parts["tones"] = tones.detach()
            style = style + self.config.tone_weight * tones
        content_loss = content_loss / n if has_content else x.new_zeros(x.shape[0])
        div = diversity_loss(acts_all) if self.config.diversity_weight else x.new_zeros(())
        total = self.config.style_weight * style + self.config.content_weight * content_loss
        total = total + self.config.diversity_weight * div
        return Losses(total, style, content_loss, div, parts)


def build_objective(frontend: FrontendConfig | Frontend, descriptor: DescriptorConfig, config: ObjectiveConfig,
                    domain: Literal["waveform", "spectrogram"] = "waveform") -> TextureLoss:
    """The texture loss a config describes (targets unset: call :meth:`TextureLoss.set_target`).

    Waveform domain: one STFT + descriptor per ``config.resolutions`` entry (the front end's settings with
    that ``n_fft``, hop ``n_fft // 4``; descriptor seed ``descriptor.seed + index``), or the front end's own
    STFT when the list is empty. Spectrogram domain: the front end's log-magnitude and one descriptor.
    """
    fe = frontend if isinstance(frontend, Frontend) else build_frontend(frontend)
    fe_cfg = fe.config
    if domain == "spectrogram":
        for name, bad in (("resolutions", config.resolutions), ("band_whitening", config.band_whitening),
                          ("auditory_weight", config.auditory_weight),
                          ("tone_weight", config.tone_weight)):
            if bad:
                raise ValueError(f"objective.{name} judges audio, so it needs the waveform domain; set it to "
                                 f"{'[]' if name == 'resolutions' else 0} for a spectrogram objective "
                                 f"(e.g. configs/paper.yaml)")
        return TextureLoss(config, fe, [DescriptorStatistics(build_descriptor(fe.n_freq, descriptor), config)])
    if domain != "waveform":
        raise ValueError(f"unknown domain {domain!r} (expected 'waveform' or 'spectrogram')")
    if not isinstance(fe, STFTFrontend):
        raise ValueError("a waveform objective needs the differentiable STFT front end (not the CQT)")
    for name in ("auditory_weight", "tone_weight"):
        if getattr(config, name) < 0:
            raise ValueError(f"{name} must be >= 0, got {getattr(config, name)}")
    if config.resolutions:
        frontends = []
        for n_fft in config.resolutions:
            if n_fft < 2 * HOP_DIVISOR:
                raise ValueError(f"resolution n_fft={n_fft} is too small (need >= {2 * HOP_DIVISOR})")
            frontends.append(STFTFrontend(replace(fe_cfg, kind="stft", n_fft=int(n_fft),
                                                  hop_length=int(n_fft) // HOP_DIVISOR)))
    else:
        frontends = [fe]
    views = [SpectrogramView(f, config.band_whitening) for f in frontends]
    descriptors = [DescriptorStatistics(build_descriptor(f.n_freq, replace(descriptor, seed=descriptor.seed + i)), config)
                   for i, f in enumerate(frontends)]
    auditory = None
    if config.auditory_weight:
        sr = fe_cfg.sample_rate
        auditory = AuditoryStatistics(sr, segment=segment_frames(config.auditory_segment_s, sr))
    tones = ToneGuard(fe_cfg.sample_rate) if config.tone_weight else None
    return TextureLoss(config, fe, descriptors, views, auditory, tones)
