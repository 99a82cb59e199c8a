"""The per-example optimisation baseline: a spectrogram, or the audio itself, optimised against the objective.

Texture synthesis (style only) and style transfer (content + style) of any output length. In the
waveform domain (``configs/baseline.yaml``, the CLI's default) the audio is optimised through its STFT
coefficients scaled by the source's amplitude per bin (:func:`scaled_stft_parametrisation`) and judged
by the :class:`~texnet.loss.TextureLoss` the generators train against; no phase retrieval. In the spectrogram domain (the
paper's; ``configs/paper.yaml``) the spectrogram is reparametrised as ``spec = softplus(theta)``, so it is
a valid (non-negative) log-magnitude spectrogram at every step; unconstrained optimisation drives many
bins negative and clamping afterwards destroys the match.

Edge frames of an unpadded descriptor are covered by fewer convolution windows than inner frames and
come out louder (measured with the seed recipe). The baseline therefore optimises ``receptive_field -
1`` extra frames on each side and crops them, so every kept frame is fully constrained.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .frontends import STFTFrontend
from .loss import TextureLoss, normalised_weights


@dataclass
class OptimizeConfig:
    """Optimiser and stopping rule of the baseline.

    ``domain`` is what is optimised: the waveform itself through the differentiable STFT (no phase
    retrieval; see :func:`optimize_waveform`), or a log-magnitude spectrogram (then Griffin-Lim); None:
    the waveform with an STFT front end, the spectrogram with the CQT (which has no gradient).
    ``max_iter``: at most this many objective evaluations (L-BFGS, stopped inside its step) or steps
    (Adam); None: the default budget, :data:`DEFAULT_MAX_ITER` evaluations counted at the end of each
    L-BFGS step (a step makes up to 12, so 150-161), the budget behind the baseline's figures in
    ``bench/RESULTS.md``. In the waveform domain the free
    parameters are the front end's STFT coefficients over the style's RMS amplitude per bin (a
    preconditioner, see :func:`scaled_stft_parametrisation`). Optimisation stops at the first
    of: ``max_iter``; the loss improving by less than ``rel_tol`` (relative) over the last ``patience``
    evaluations; ``time_budget`` seconds (checked after each L-BFGS step, which makes up to 12 evaluations).
    """

    optimizer: Literal["lbfgs", "adam"] = "lbfgs"
    domain: Literal["spectrogram", "waveform"] | None = None
    max_iter: int | None = None
    lr: float | None = None  # None: 1.0 for L-BFGS, 0.05 for Adam
    rel_tol: float = 1e-3
    patience: int = 20
    time_budget: float | None = None
    seed: int = 0
    init: Literal["noise", "content"] = "noise"
    edge_margin: bool = True
    progress: bool = True


def default_domain(frontend_kind: str) -> str:
    """What the baseline optimises when no domain is given: the audio, unless the front end (the CQT) has
    no gradient."""
    return "waveform" if frontend_kind == "stft" else "spectrogram"


@dataclass
class OptimizeResult:
    """The optimised log-magnitude spectrogram ``(freq, time)`` and how it got there."""

    spec: torch.Tensor
    losses: list[float] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    wall_time: float = 0.0
    stop_reason: str = ""
    style_loss: float = math.nan
    content_loss: float = math.nan


def _inv_softplus(y: torch.Tensor) -> torch.Tensor:
    y = y.clamp_min(1e-4)
    return y + torch.log(-torch.expm1(-y))


DEFAULT_MAX_ITER = 150  # evaluations of the default budget (OptimizeConfig.max_iter None)


class _Budget(Exception):
    """Raised by the objective's closure when ``max_iter`` evaluations are spent (ends an L-BFGS step early)."""


INIT_POWER_ROUNDS = 4  # rescaling rounds of the waveform baseline's start (see run_baseline)
GAIN_FLOOR = 1e-4  # of the loudest bin's amplitude: the smallest scale of an optimised STFT coefficient


def noise_init(mean: torch.Tensor, std: torch.Tensor, n_frames: int, seed: int) -> torch.Tensor:
    """Gaussian noise spectrogram ``(freq, n_frames)`` with a source's per-bin mean and std ``(freq,)``."""
    gen = torch.Generator().manual_seed(int(seed))
    noise = torch.randn(mean.shape[0], n_frames, generator=gen).to(mean.device)
    return (mean[:, None] + std[:, None] * noise).clamp_min(1e-3)


def _minimise(theta: torch.Tensor, loss_fn, cfg: OptimizeConfig, res: OptimizeResult) -> torch.Tensor:
    """Run the configured optimiser on ``theta`` until the stopping rule; return the best ``theta`` seen.

    ``loss_fn(theta)`` returns a scalar; the loss curve and times are appended to ``res``.
    """
    torch.manual_seed(cfg.seed)
    if cfg.optimizer == "lbfgs":
        opt = torch.optim.LBFGS([theta], lr=cfg.lr or 1.0, max_iter=10, history_size=50,
                                line_search_fn="strong_wolfe", tolerance_grad=0, tolerance_change=0)
    elif cfg.optimizer == "adam":
        opt = torch.optim.Adam([theta], lr=cfg.lr or 0.05)
    else:
        raise ValueError(f"unknown optimizer {cfg.optimizer!r} (expected 'lbfgs' or 'adam')")
    best = (math.inf, theta.detach().clone())
    t0 = time.perf_counter()
    max_iter = DEFAULT_MAX_ITER if cfg.max_iter is None else cfg.max_iter
    if max_iter < 1:
        raise ValueError(f"max_iter must be >= 1, got {max_iter}")
    exact = cfg.max_iter is not None  # the default budget keeps whole L-BFGS steps (see OptimizeConfig)
    bar = tqdm(total=max_iter, desc=f"baseline ({cfg.optimizer})", disable=not cfg.progress, leave=False)

    def closure():
        nonlocal best
        if exact and len(res.losses) >= max_iter:
            raise _Budget
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(theta)
        loss.backward()
        val = loss.item()
        if math.isfinite(val) and val < best[0]:
            best = (val, theta.detach().clone())
        res.losses.append(val)
        res.times.append(time.perf_counter() - t0)
        bar.update(1)
        bar.set_postfix(loss=f"{val:.3g}")
        return loss

    try:
        while True:
            if cfg.optimizer == "lbfgs":
                try:
                    opt.step(closure)
                except _Budget:  # the best theta seen is kept; the unfinished step is dropped
                    pass
            else:
                closure()
                opt.step()
            n = len(res.losses)
            if not math.isfinite(res.losses[-1]):
                res.stop_reason = "non-finite loss"
                break
            if n >= max_iter:
                res.stop_reason = "max_iter"
                break
            if cfg.time_budget is not None and time.perf_counter() - t0 >= cfg.time_budget:
                res.stop_reason = "time_budget"
                break
            if n > cfg.patience:
                old = min(res.losses[: n - cfg.patience])
                if old - best[0] < cfg.rel_tol * old:
                    res.stop_reason = "converged"
                    break
    finally:
        bar.close()
    res.wall_time = time.perf_counter() - t0
    return best[1]


def _finish(res: OptimizeResult, spec: torch.Tensor, final) -> OptimizeResult:
    """Record the result's spectrogram ``(freq, time)`` and its final :class:`Losses` in ``res``."""
    res.spec = spec
    res.style_loss = final.style.item()
    res.content_loss = final.content.item()
    return res


def optimize_spectrogram(
    objective: TextureLoss,
    n_frames: int,
    init_spec: torch.Tensor,
    config: OptimizeConfig | None = None,
) -> OptimizeResult:
    """Optimise a ``(freq, n_frames)`` log-magnitude spectrogram against ``objective``'s targets.

    ``init_spec`` ``(freq, n_frames)`` is the starting point (see :func:`noise_init`, or the content
    spectrogram for style transfer). With a content target, ``n_frames`` must equal the content length
    and no edge margin is added (content fixes every frame).
    """
    cfg = config or OptimizeConfig()
    rf = objective.receptive_field
    if n_frames < rf:
        raise ValueError(f"output of {n_frames} frames is shorter than the descriptor's receptive field ({rf} frames)")
    if init_spec.shape[-1] != n_frames:
        raise ValueError(f"init_spec has {init_spec.shape[-1]} frames, expected {n_frames}")
    has_content = objective.has_content
    margin = rf - 1 if (cfg.edge_margin and not has_content) else 0
    init = F.pad(init_spec[None], (margin, margin), mode="replicate")[0] if margin else init_spec
    # contiguous: a front end's spectrogram may be a transposed view, and L-BFGS needs grad.view(-1)
    theta = _inv_softplus(init.detach().clone()).contiguous().requires_grad_(True)
    res = OptimizeResult(spec=init_spec)
    best = _minimise(theta, lambda t: objective(F.softplus(t)[None]).total.sum(), cfg, res)
    spec = F.softplus(best)
    spec = spec[:, margin:-margin] if margin else spec
    with torch.no_grad():
        return _finish(res, spec, objective(spec[None]))


def scaled_stft_parametrisation(basis: STFTFrontend, wave: torch.Tensor, gain: torch.Tensor | None = None):
    """The waveform ``(samples,)`` as free parameters: its ``basis`` STFT coefficients over ``gain`` ``(freq,)``.

    Returns ``theta`` ``(freq, frames, 2)`` (real and imaginary parts) and ``to_wave(theta)`` ->
    ``(1, samples)``, one inverse STFT (``to_wave(theta)`` is ``wave`` again: a Hann window at 75 %
    overlap reconstructs exactly). Every term of the objective is close to logarithmic in a bin's level,
    so its gradient with respect to a bin's coefficients scales like one over the bin's amplitude; a step
    on the samples then changes quiet bins by a large fraction and loud ones by almost none (a 60 dB
    spectrum is 10^6 apart in curvature). With ``gain`` the source's RMS amplitude per bin, a step is the
    same relative change in every bin: a diagonal preconditioner the optimiser's short memory cannot
    learn for itself. ``gain`` None: ones (coefficients unscaled).
    """
    length = wave.shape[-1]
    g = (torch.ones(basis.n_freq, device=wave.device) if gain is None else gain)[:, None]
    theta = torch.view_as_real(basis.complex_stft(wave[None])[0] / g).detach().clone().contiguous()

    def to_wave(t: torch.Tensor) -> torch.Tensor:
        return basis.istft((torch.view_as_complex(t) * g)[None], length=length)

    return theta, to_wave


def optimize_waveform(
    objective: TextureLoss,
    n_samples: int,
    init_wave: torch.Tensor,
    basis: STFTFrontend,
    gain: torch.Tensor | None = None,
    config: OptimizeConfig | None = None,
) -> tuple[torch.Tensor, OptimizeResult]:
    """Phase-free baseline: optimise the waveform ``(n_samples,)`` itself so that its spectrograms match
    the objective's targets (Antognini et al. 2019; Caracalla & Roebel 2019).

    The waveform is optimised through its ``basis`` STFT coefficients scaled by ``gain`` ``(freq,)`` (see
    :func:`scaled_stft_parametrisation`).

    No phase retrieval afterwards: what the objective judged is the spectrogram of real audio. Returns
    the waveform and the run record (``spec`` is the waveform's log-magnitude at the objective's first resolution;
    :func:`run_baseline` replaces it by its front end's).
    """
    cfg = config or OptimizeConfig()
    if n_samples < objective.min_samples():
        raise ValueError(f"output of {n_samples} samples is shorter than the descriptor's receptive field "
                         f"({objective.min_samples() / basis.sample_rate:.3f} s): ask for more seconds"
                         + (", or shorter auditory segments (model.objective.auditory_segment_s)"
                            if objective.segments_set_min_samples else ""))
    if init_wave.shape[-1] != n_samples:
        raise ValueError(f"init_wave has {init_wave.shape[-1]} samples, expected {n_samples}")
    has_content = objective.has_content
    margin = objective.margin_samples() if (cfg.edge_margin and not has_content) else 0
    # circular padding: a noise start stays noise-like on the margins, and any margin fits (a margin of the
    # longest resolution can exceed the output itself, which reflect padding refuses)
    reps = 2 * (margin // n_samples + 1) + 1
    first = (reps // 2) * n_samples - margin
    init = init_wave.repeat(reps)[first: first + n_samples + 2 * margin]
    fe0 = objective.views[0].frontend
    res = OptimizeResult(spec=fe0(init_wave[None])[0])
    theta, to_wave = scaled_stft_parametrisation(basis, init, gain)
    theta.requires_grad_(True)
    best = _minimise(theta, lambda t: objective(to_wave(t)).total.sum(), cfg, res)
    with torch.no_grad():
        best = to_wave(best)[0]
    wave = best[margin: margin + n_samples] if margin else best
    with torch.no_grad():
        return wave, _finish(res, fe0(wave[None])[0], objective(wave[None]))


@dataclass
class BaselineOutput:
    """What :func:`run_baseline` made: the waveform ``(samples,)``, its spectrogram and the run record."""

    wave: torch.Tensor
    result: OptimizeResult
    style_specs: list[torch.Tensor]
    content_spec: torch.Tensor | None
    inversion_time: float


def run_baseline(
    objective: TextureLoss,
    style_waves: list[torch.Tensor],
    seconds: float | None,
    weights: list[float] | None = None,
    content_wave: torch.Tensor | None = None,
    config: OptimizeConfig | None = None,
) -> BaselineOutput:
    """Texture synthesis (no content) or style transfer (with ``content_wave``) from waveforms ``(samples,)``.

    Sets the loss's targets, starts from noise with the style's per-bin statistics (or from the content
    with ``config.init == "content"``) and optimises. In the loss's ``"waveform"`` domain the audio itself
    is optimised (through scaled STFT coefficients; no phase retrieval); in the ``"spectrogram"`` domain
    (the paper's) a log-magnitude spectrogram, inverted by the front end's inverse afterwards. Texture
    length is ``seconds``; style transfer keeps the content's length.
    """
    cfg = config or OptimizeConfig()
    frontend = objective.frontend
    domain = objective.domain
    style_specs = [frontend(w)[0] for w in style_waves]
    objective.set_target(style_waves, weights)
    content_spec = None
    if content_wave is not None:
        n_out = content_wave.shape[-1]
        if domain != "waveform":  # optimised frames that cover the content, cut to its length once inverted
            content_wave = frontend.pad_to_hops(content_wave)
        content_spec = frontend(content_wave)[0]
        n_frames = content_spec.shape[-1]
    else:
        objective.set_content(None)
        n_out = 0 if seconds is None else frontend.samples_for_seconds(seconds)
        if n_out <= 0:
            raise ValueError(f"output length must be positive, got {seconds} s")
        n_frames = frontend.frames_to_cover(n_out)
        rf = objective.receptive_field
        if frontend.frames_for_samples(n_out) < rf:  # the output as it will be analysed, not the frames made
            need = frontend.seconds_for_frames(rf)
            raise ValueError(f"output of {seconds} s is shorter than the descriptor's receptive field ({need:.3f} s)")
    w = normalised_weights(weights, len(style_specs))
    mean = sum(wi * s.mean(-1) for wi, s in zip(w, style_specs))
    std = sum(wi * s.std(-1) for wi, s in zip(w, style_specs))
    if domain == "waveform":
        n_samples = n_out  # the audio itself is optimised: exactly as long as asked
        # the style's mean power per bin: the start's level and the optimised coefficients' scale
        power = sum(wi * frontend.to_magnitude(s).square().mean(-1) for wi, s in zip(w, style_specs))
        if content_wave is not None and cfg.init == "content":
            init_wave = content_wave[:n_samples].clone()
        else:
            # noise already shaped like the source: its per-bin log-magnitude statistics, random phase
            # (white noise leaves the quiet high bands far too loud for L-BFGS to clear)
            mag = frontend.to_magnitude(noise_init(mean, std, frontend.frames_to_cover(n_samples), cfg.seed))
            # ... at each bin's mean POWER, as re-analysed: Gaussian log-domain noise mapped back through exp
            # inflates the power of bins whose level varies a lot, and overlap-add of random phases leaks
            # strong bins into weak neighbours (rain's lowest bands started far too loud, and stayed so
            # after the optimisation). Rounds of rescaling each bin by target / re-analysed power bring
            # the lowest bands to the target's level (only the bins under 50 Hz, where rain has next to
            # nothing, keep leaked power); bench/RESULTS.md, "What was tried and not kept".
            gen = torch.Generator().manual_seed(int(cfg.seed) + 1)
            phase = (torch.rand(mag.shape, generator=gen) * 2 * math.pi).to(mag.device)
            for _ in range(INIT_POWER_ROUNDS):
                init_wave = frontend.istft(torch.polar(mag, phase)[None], length=n_samples)[0]
                got = frontend.magnitude(init_wave[None])[0].square().mean(-1)
                mag = mag * (power / got.clamp_min(1e-30)).sqrt()[:, None]
            init_wave = frontend.istft(torch.polar(mag, phase)[None], length=n_samples)[0]
        objective.set_content(content_wave)
        amp = power.sqrt()  # floored: a bin the style lacks (above a cut-off) may still move, if slowly
        wave, result = optimize_waveform(objective, n_samples, init_wave, frontend,
                                         gain=amp.clamp_min(GAIN_FLOOR * amp.max()), config=cfg)
        with torch.no_grad():  # the record's spectrogram in the front end's frames, not the first resolution's
            result.spec = frontend(wave[None])[0]
        return BaselineOutput(wave.detach(), result, style_specs, content_spec, 0.0)
    if content_wave is not None:
        objective.set_content(content_wave)
    if content_spec is not None and cfg.init == "content":
        init = content_spec.clamp_min(1e-3)
    else:
        init = noise_init(mean, std, n_frames, cfg.seed)
    result = optimize_spectrogram(objective, n_frames, init, cfg)
    t0 = time.perf_counter()
    wave = frontend.inverse(result.spec[None], seed=cfg.seed)[0][:n_out]
    return BaselineOutput(wave, result, style_specs, content_spec, time.perf_counter() - t0)
