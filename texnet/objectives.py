"""The one objective shared by the optimisation baseline and the generator trainer.

Style ("timbre without temporal order") is the Gram matrix of each descriptor layer's activations,
averaged over time positions, ``G = A A^T / N``; content is the activations themselves. Losses are
*relative* squared errors, so their values read the same for any descriptor width or input level.

Two style statistics are offered (``ObjectiveConfig.statistic``):

- ``"gram"`` (the paper's): ``||G(x) - G(t)||^2 / ||G(t)||^2``.
- ``"mean_cov"`` (default): the same second moment split as ``G = C + mu mu^T`` into the activations'
  mean ``mu`` and covariance ``C``, each compared relatively:
  ``||mu(x) - mu(t)||^2 / ||mu(t)||^2 + ||C(x) - C(t)||^2 / ||C(t)||^2``.
  Post-ReLU activations of a log-magnitude spectrogram are all positive, so ``mu mu^T`` dominates ``G``
  and the relative Gram error hardly sees anything else. Measured on the bundled clips (512 x 11
  descriptor, STFT 1024/256, target = first half): Gaussian noise with the source's per-bin mean and
  std scores a LOWER Gram loss than the recording's own second half (rain 0.0004 vs 0.0009, stream
  0.0007 vs 0.0024, fire 0.0018 vs 0.0245), so a Gram loss cannot tell a texture from noise. The
  covariance term can (second half vs noise: rain 0.42 vs 0.63, wind 0.07 vs 0.81, insects 0.32 vs
  0.82; another bundled texture: 0.67-3.5).

    content_l(x) = || A_l(x) - A_l(content) ||^2 / || A_l(content) ||^2

with ``A`` the ``(channels, positions)`` activations and ``N`` the number of positions. Averaging over
``N`` is what lets an output of ANY length be compared with a target of another length (infinite
textures). A multi-texture target is the weighted mixture of the sources' statistics (means and second
moments averaged with the weights, the covariance derived from them).

On the algebra: ``||G_x - G_t||^2`` could be computed from the ``N x N`` product ``A^T A`` when ``N < C``,
but the cross term ``<G_x, G_t> = tr(A^T G_t A) / N`` still costs ``C^2 N``, as does forming ``G_x``; the
shortcut therefore never saves arithmetic here (``N^2 C + C^2 N`` vs ``C^2 N``) and the direct form is used.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, NamedTuple, Sequence

import torch
from torch import nn

from .descriptors import Descriptor


@dataclass
class ObjectiveConfig:
    """Weights of the loss terms.

    ``style_layers``/``content_layers`` index the descriptor's outputs (``None``: every output for
    style, the last one for content); ``layer_weights`` weight the style layers (``None``: equal,
    summing to 1). ``resolutions`` (waveform domain only: the phase-free baseline and the waveform
    generator) judges audio by one STFT per listed ``n_fft`` (hop ``n_fft // 4``), each with its own
    descriptor, instead of the front end's one STFT; see :mod:`texnet.wave_objective`.
    ``spectrum_weight`` adds the long-term spectrum in a true log scale to the style (see
    :meth:`TextureObjective.spectrum_loss`). ``band_whitening`` (waveform domain, ``scale: power``
    only) divides each STFT bin's power by the target's long-term power in that bin raised to this
    exponent before the descriptor sees it: 0 = off, 1 = every bin at the same mean level, so quiet
    high bands weigh as much as loud low ones (see :mod:`texnet.wave_objective`). ``auditory_weight``
    (waveform domain only) adds the auditory texture statistics of the audio: band-envelope moments,
    correlations and modulation spectra (:mod:`texnet.auditory`); their Welch segments last
    ``auditory_segment_s`` (a power of two of envelope frames), which sets the slowest modulation band
    judged: 0.75 s -> 2 Hz and up, 1.5 s -> 1 Hz, 3 s -> 0.5 Hz (training crops must be longer).
    """

    statistic: Literal["mean_cov", "gram"] = "mean_cov"
    style_weight: float = 1.0
    content_weight: float = 1.0
    style_layers: list[int] | None = None
    content_layers: list[int] | None = None
    layer_weights: list[float] | None = None
    resolutions: list[int] = field(default_factory=list)
    spectrum_weight: float = 0.0
    band_whitening: float = 0.0
    auditory_weight: float = 0.0
    auditory_segment_s: float = 0.75


SPECTRUM_FLOOR = 1e-6  # of the target's mean level: the long-term spectrum's log floor


class Losses(NamedTuple):
    """Per-candidate loss terms, each ``(batch,)``."""

    total: torch.Tensor
    style: torch.Tensor
    content: torch.Tensor


def pool_batch(x: torch.Tensor) -> torch.Tensor:
    """``(batch, channels, positions)`` -> ``(1, channels, batch * positions)``: the items side by side.

    Training a generator on the mean of per-crop losses asks EVERY 1.5 s crop to carry the source's
    long-term statistics, which real audio does not do (real 1.5 s crops of rain scored 3.0 where the
    per-crop-trained generator reached 0.83) and which only a texture without events can: the
    generator learns smooth, uneventful sound. Pooled
    statistics ask it of the batch as a whole, so crops may differ as much as real ones do.
    """
    return x.transpose(0, 1).reshape(x.shape[1], -1).unsqueeze(0)


class StyleMemory(nn.Module):
    """Running mean ``(channels,)`` and covariance ``(channels, channels)`` of a generator's descriptor
    activations over training steps, one pair per style layer.

    A loss on the statistics of ONE batch, ``||s(batch) - t||^2``, is in expectation
    ``||E s - t||^2 + tr Var s(batch)``: it also penalises how much the statistics of a batch vary,
    so the generator is paid to make every batch alike, i.e. smooth, uneventful texture (the same
    bias that pooling the crops of a batch reduces, :func:`pool_batch`; more crops per batch kept
    helping: rain 2.48 / 2.11 / 1.92 with 4 / 8 / 16 crops). Here the statistics the loss compares are
    ``(1 - w)`` times the running estimate from earlier steps (no gradient) plus ``w`` times this
    batch's, merged as two samples of one distribution (means mixed, covariances mixed plus the
    spread of the means), so the gradient is taken at the generator's long-run statistics and a
    batch's own fluctuation costs almost nothing. ``w = max(1 - memory, 1 / (updates + 1))``: the
    first ``1 / (1 - memory)`` steps form an exact running mean, so no stale start is remembered.

    Measured (waveform generator, 300 steps, 8 crops, memory 0.9): rain 2.11 -> 1.93 (1.84 with 4 crops of
    3 s), but wind 2.66 -> 3.61, whose generator then fitted its objective worse (0.46 vs 0.40; real audio
    0.09), and with 4 crops of 3 s fire 1.52 -> 2.17, stream 1.51 -> 1.98: an option
    (``model.style_memory``), off by default. See ``bench/RESULTS.md``.
    """

    def __init__(self, memory: float):
        super().__init__()
        if not 0.0 <= memory < 1.0:
            raise ValueError(f"style memory must lie in [0, 1), got {memory}")
        self.memory = float(memory)
        self.updates = 0
        self.means: list[torch.Tensor] = []
        self.covs: list[torch.Tensor] = []

    @property
    def batch_weight(self) -> float:
        """The weight ``w`` of the current batch's statistics."""
        return max(1.0 - self.memory, 1.0 / (self.updates + 1))

    def merge(self, j: int, mean: torch.Tensor, cov: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Layer ``j``'s batch mean ``(C,)`` and covariance ``(C, C)`` merged with the running ones
        (the result keeps the batch's gradient, scaled by ``w``); the running ones become the result."""
        if j == len(self.means):  # first step (w = 1): the batch's own statistics
            self.means.append(mean.detach())
            self.covs.append(cov.detach())
            return mean, cov
        w = self.batch_weight
        d = mean - self.means[j]
        mean = self.means[j] + w * d
        cov = (1 - w) * self.covs[j] + w * cov + (w * (1 - w)) * torch.outer(d, d)
        self.means[j], self.covs[j] = mean.detach(), cov.detach()
        return mean, cov

    def reset(self) -> None:
        """Forget the running statistics (e.g. after a step whose loss was not finite)."""
        self.updates = 0
        self.means, self.covs = [], []

    def advance(self) -> None:
        """One training step's statistics have been merged (call once per step)."""
        self.updates += 1

    def state(self) -> dict:
        return {"updates": self.updates, "means": [m.cpu() for m in self.means], "covs": [c.cpu() for c in self.covs]}

    def load(self, state: dict) -> None:
        self.updates = int(state["updates"])
        self.means, self.covs = list(state["means"]), list(state["covs"])


def consistency_loss(emitted: torch.Tensor, analysed: torch.Tensor) -> torch.Tensor:
    """Squared spectral convergence ``|| |Y| - |X| ||^2 / ||X||^2`` per item ``(batch,)`` between the STFT
    ``X`` a waveform generator emitted and the magnitudes ``|Y|`` of the audio its inverse STFT made
    (both ``(batch, freq, frames)``; ``emitted`` complex or magnitudes). 0 for a consistent STFT.

    Overlap-add of frames whose phases disagree cancels: the waveform generator's rain / wind / insects
    audio had 1.2-2x the frame-to-frame level spread of its own emitted magnitudes, in broadband dips
    that the emitted magnitudes do not have (the frame energy fell 5x where the emitted one fell 10 %).
    """
    x = emitted.abs() if emitted.is_complex() else emitted
    return (analysed - x).pow(2).sum((1, 2)) / x.pow(2).sum((1, 2)).clamp_min(1e-20)


def gram(act: torch.Tensor) -> torch.Tensor:
    """``(batch, channels, positions)`` -> ``(batch, channels, channels)``, averaged over positions."""
    return act @ act.transpose(1, 2) / act.shape[-1]


def mix_stats(stats: Sequence[Sequence[torch.Tensor]], weights: Sequence[float] | None) -> list[torch.Tensor]:
    """Weighted mean of several sources' per-layer statistics (multi-texture target).

    ``stats[s][l]`` is source ``s``'s statistic (a mean ``(channels,)`` or a Gram ``(channels, channels)``)
    at layer ``l``; weights are normalised to sum to 1 and must be non-negative.
    """
    n = len(stats)
    if n == 0:
        raise ValueError("need at least one style source")
    w = torch.ones(n) if weights is None else torch.as_tensor(list(weights), dtype=torch.float32)
    if w.numel() != n:
        raise ValueError(f"got {w.numel()} weights for {n} style sources: give one weight per source")
    if (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"style weights must be non-negative with a positive sum, got {w.tolist()}")
    w = w / w.sum()
    return [sum(w[s] * stats[s][l] for s in range(n)) for l in range(len(stats[0]))]


def diversity_loss(acts: list[torch.Tensor]) -> torch.Tensor:
    """Negative mean distance between the activations of batch items generated from different noise
    (Improved Texture Networks, Ulyanov et al. 2017): minimising it pushes outputs apart.

    ``acts``: list of ``(batch, channels, positions)``; returns a scalar (0 for a batch of one).
    """
    if acts[0].shape[0] < 2:
        return acts[0].new_zeros(())
    total = acts[0].new_zeros(())
    for a in acts:
        flat = a.flatten(1)
        flat = flat / flat.norm(dim=1, keepdim=True).clamp_min(1e-8)
        # each item against the next one (a cyclic pairing keeps it O(batch))
        total = total - (flat - flat.roll(1, dims=0)).pow(2).sum(1).mean()
    return total / len(acts)


class TextureObjective(nn.Module):
    """Style (Gram) and content losses of candidate spectrograms against precomputed targets.

    Set targets once with :meth:`set_style` (and :meth:`set_content` for style transfer); then
    ``objective(x)`` with ``x`` ``(batch, freq, time)`` returns :class:`Losses`, vectorised over the batch.
    The descriptor is frozen, so gradients flow to ``x`` only.
    """

    def __init__(self, descriptor: Descriptor, config: ObjectiveConfig | None = None):
        super().__init__()
        self.descriptor = descriptor
        self.config = config or ObjectiveConfig()
        n = descriptor.n_outputs
        self.style_layers = list(range(n)) if self.config.style_layers is None else list(self.config.style_layers)
        self.content_layers = [n - 1] if self.config.content_layers is None else list(self.config.content_layers)
        for idx in self.style_layers + self.content_layers:
            if not 0 <= idx < n:
                raise ValueError(f"layer index {idx} out of range: the descriptor has {n} outputs")
        lw = self.config.layer_weights
        if lw is not None and len(lw) != len(self.style_layers):
            raise ValueError(f"{len(lw)} layer weights for {len(self.style_layers)} style layers")
        w = torch.ones(len(self.style_layers)) if lw is None else torch.as_tensor(lw, dtype=torch.float32)
        self.register_buffer("layer_weights", w / w.sum(), persistent=False)
        self._n_style = 0
        self._n_content = 0

    # Targets live in (non-persistent) buffers so that .to(device) and Lightning move them with the module.
    def _store(self, prefix: str, tensors: Sequence[torch.Tensor]) -> int:
        for j, t in enumerate(tensors):
            self.register_buffer(f"{prefix}{j}", t.detach().clone(), persistent=False)
        return len(tensors)

    @property
    def target_grams(self) -> list[torch.Tensor]:
        return [getattr(self, f"_gram{j}") for j in range(self._n_style)]

    @property
    def target_norms(self) -> list[torch.Tensor]:
        return [getattr(self, f"_gram_norm{j}") for j in range(self._n_style)]

    @property
    def content_acts(self) -> list[torch.Tensor] | None:
        if not self._n_content:
            return None
        return [getattr(self, f"_content{j}") for j in range(self._n_content)]

    @property
    def receptive_field(self) -> int:
        return self.descriptor.receptive_field

    @torch.no_grad()
    def source_stats(self, spec: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Per-style-layer means ``(channels,)`` and Grams ``(channels, channels)`` of one spectrogram."""
        acts = self.descriptor(spec.unsqueeze(0) if spec.dim() == 2 else spec)
        return [acts[i][0].mean(-1) for i in self.style_layers], [gram(acts[i])[0] for i in self.style_layers]

    @torch.no_grad()
    def set_style(self, specs: Sequence[torch.Tensor], weights: Sequence[float] | None = None) -> None:
        """Targets from one or more style spectrograms ``(freq, time)`` mixed with ``weights``."""
        if len(specs) == 0:
            raise ValueError("need at least one style spectrogram")
        per_source = [self.source_stats(s) for s in specs]
        means = mix_stats([m for m, _ in per_source], weights)
        grams = mix_stats([g for _, g in per_source], weights)
        if self.config.statistic == "mean_cov":
            second = [g - torch.outer(m, m) for m, g in zip(means, grams)]
        elif self.config.statistic == "gram":
            second = grams
        else:
            raise ValueError(f"unknown style statistic {self.config.statistic!r} (expected 'mean_cov' or 'gram')")
        self._n_style = self._store("_gram", second)
        self._store("_gram_norm", [g.pow(2).sum().clamp_min(1e-20) for g in second])
        self._store("_mean", means)
        self._store("_mean_norm", [m.pow(2).sum().clamp_min(1e-20) for m in means])
        # long-term spectrum: linear spectra averaged with the weights, then the log (multi-texture mix)
        lin = mix_stats([[torch.expm1(s.clamp_min(0)).mean(-1)] for s in specs], weights)[0]
        floor = SPECTRUM_FLOOR * lin.mean().clamp_min(1e-30)
        self.register_buffer("_spectrum_floor", floor, persistent=False)
        self.register_buffer("_spectrum", torch.log10(lin + floor), persistent=False)

    @torch.no_grad()
    def set_content(self, spec: torch.Tensor | None) -> None:
        """Content target: the descriptor activations of one spectrogram ``(freq, time)`` (or None)."""
        if spec is None:
            self._n_content = 0
            return
        acts = self.descriptor(spec.unsqueeze(0) if spec.dim() == 2 else spec)
        self._n_content = self._store("_content", [acts[i] for i in self.content_layers])

    def style_from_acts(self, acts: list[torch.Tensor], spec: torch.Tensor | None = None,
                        pooled: bool = False, memory: StyleMemory | None = None) -> torch.Tensor:
        """Style loss ``(batch,)`` from the descriptor's outputs ``acts`` of the spectrogram ``spec``
        ``(batch, freq, time)`` (``spec`` is needed only with a ``spectrum_weight``).

        ``pooled``: one loss ``(1,)`` of the statistics over every position of every batch item, as if
        the items were one long excerpt (see :func:`pool_batch`). ``memory`` (pooled only; training a
        generator) merges those statistics with the running ones of earlier steps and advances it.

        Statistics are computed in float32 even under mixed precision: a relative error of second
        moments is a difference of large, nearly equal numbers, which bf16 cannot resolve.
        """
        if not self._n_style:
            raise RuntimeError("no style target: call set_style first")
        if memory is not None and not pooled:
            raise ValueError("a style memory needs the pooled statistics (pooled=True)")
        if pooled:
            acts = [pool_batch(a) for a in acts]
            spec = None if spec is None else pool_batch(spec)
        with torch.autocast(acts[0].device.type, enabled=False):
            loss = self._style_fp32([a.float() for a in acts], memory)
            if memory is not None:
                # the batch enters the merged statistics with weight w, and so would its gradient: undo
                # that (the value stays the merged loss) so a memory does not shrink the style term
                # against other terms (diversity, consistency)
                w = memory.batch_weight
                loss = loss.detach() + (loss - loss.detach()) / w
                memory.advance()
            if self.config.spectrum_weight:
                if spec is None:
                    raise ValueError("this objective has a spectrum_weight: pass the spectrogram to style_from_acts")
                loss = loss + self.config.spectrum_weight * self.spectrum_loss(spec.float())
            return loss

    def spectrum_loss(self, spec: torch.Tensor) -> torch.Tensor:
        """Squared error of the long-term spectrum in log10 units, mean over bins ``(batch,)``.

        ``spec`` ``(batch, freq, time)`` is the front end's ``log1p(u)`` (``u`` a magnitude or a relative
        power), so ``expm1`` recovers ``u``; its time average is compared in a TRUE log (floor
        ``SPECTRUM_FLOOR`` times the target's mean). The descriptor sees ``log1p(u)``, which is linear
        (and so nearly zero) wherever the source is quiet: bands 40-60 dB under the mean level (wind
        above 1 kHz) barely enter its statistics and come out empty or far too loud. A log has no such
        dead zone; 1.0 = every bin 10x off in ``u``.
        """
        lin = torch.expm1(spec.clamp_min(0)).mean(-1)
        return (torch.log10(lin + self._spectrum_floor) - self._spectrum).pow(2).mean(-1)

    def _style_fp32(self, acts: list[torch.Tensor], memory: StyleMemory | None = None) -> torch.Tensor:
        loss = acts[0].new_zeros(acts[0].shape[0])
        centre = self.config.statistic == "mean_cov"
        for j, (i, target, norm) in enumerate(zip(self.style_layers, self.target_grams, self.target_norms)):
            a = acts[i]
            mu = a.mean(-1)
            if memory is None and not centre:
                second = gram(a)  # the paper's raw Gram
            else:
                second = gram(a - mu.unsqueeze(-1))  # covariance
                if memory is not None:  # pooled activations: a batch of one
                    m, c = memory.merge(j, mu[0], second[0])
                    mu, second = m[None], c[None]
                if not centre:
                    second = second + mu.unsqueeze(-1) * mu.unsqueeze(-2)
            term = (second - target.to(second.dtype)).pow(2).sum((1, 2)) / norm
            if centre:
                mu_t, mu_norm = getattr(self, f"_mean{j}"), getattr(self, f"_mean_norm{j}")
                term = term + (mu - mu_t).pow(2).sum(-1) / mu_norm
            loss = loss + self.layer_weights[j] * term
        return loss

    def content_from_acts(self, acts: list[torch.Tensor], targets: list[torch.Tensor] | None = None) -> torch.Tensor:
        """Content loss ``(batch,)``; the candidate must have the content's length.

        ``targets`` (one ``(batch or 1, channels, positions)`` per content layer) replaces the stored
        content, e.g. when every batch item has its own content (training a style-transfer generator).
        """
        targets = self.content_acts if targets is None else targets
        if targets is None:
            return acts[0].new_zeros(acts[0].shape[0])
        with torch.autocast(acts[0].device.type, enabled=False):
            return self._content_fp32([a.float() for a in acts], [t.float() for t in targets])

    def _content_fp32(self, acts: list[torch.Tensor], targets: list[torch.Tensor]) -> torch.Tensor:
        loss = acts[0].new_zeros(acts[0].shape[0])
        for i, c in zip(self.content_layers, targets):
            a = acts[i]
            if a.shape[1:] != c.shape[1:]:
                raise ValueError(
                    f"content loss needs the candidate's length to match the content's: activations {tuple(a.shape[1:])} "
                    f"vs content {tuple(c.shape[1:])}"
                )
            loss = loss + (a - c).pow(2).sum((1, 2)) / c.pow(2).sum((1, 2)).clamp_min(1e-20)
        return loss / len(self.content_layers)

    def forward(self, x: torch.Tensor) -> Losses:
        """``x`` ``(batch, freq, time)`` -> :class:`Losses` of shape ``(batch,)`` each."""
        acts = self.descriptor(x)
        style = self.style_from_acts(acts, x)
        content = self.content_from_acts(acts)
        total = self.config.style_weight * style
        if self._n_content:
            total = total + self.config.content_weight * content
        return Losses(total, style, content)
