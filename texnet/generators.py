"""Fully convolutional generators of log-magnitude spectrograms ``(batch, freq, time)``.

- :class:`TextureGenerator` (after Ulyanov et al. 2016, Texture Networks): multi-scale noise in,
  spectrogram out, any length.
- :class:`StyleGenerator` (after Johnson et al. 2016 / Ulyanov et al. 2016): a content spectrogram (plus
  noise) in, a stylised spectrogram of the same length out.
- :class:`WaveformGenerator`: phase-free; noise in, complex STFT frames out, audio by one inverse STFT
  (trained through the differentiable front end, so no Griffin-Lim at inference).
- :class:`WaveformStyleGenerator`: phase-free style transfer; a content's log-magnitudes (plus noise) in,
  complex STFT frames of the stylised sound out, trained against the waveform objective.

Design choices, and why:

- **Valid (unpadded) dilated convolutions along time, no up-sampling.** Texture Networks join noise
  pyramids with up-sampling; here the multi-scale context comes from a stack of residual blocks with
  growing dilation, and the multi-scale *noise* is given at every frame (coarse scales are linearly
  interpolated between knots every ``scale_factor**s`` frames). Every output frame is then the same
  function of a known window of ``receptive_field`` input frames, so "N frames out" maps to exactly
  ``N + receptive_field - 1`` noise frames, and a chunked (streaming) generation equals the one-pass
  output. The finest noise scale is always present: coarse-only noise left a loudness flutter in a
  prototype (``bench/RESULTS.md``, "What was tried and not kept").
- **Position-indexed noise.** :func:`make_noise` computes the noise at absolute frame positions from the
  seed by integer hashing (:mod:`texnet.noise`), on the generator's device, so any window of an endless
  texture can be produced on its own, and an exported model carries its noise inside.
- **Normalisation per frame, never over time.** BatchNorm made the inference loss several times the
  training loss (batch vs running statistics; ``bench/RESULTS.md``, "What was tried and not kept"), and
  instance norm ties every frame to the length of the sequence (breaking streaming). ``norm="layer"``
  normalises each frame's channels (GroupNorm-free LayerNorm over channels), which depends on nothing but
  that frame; ``"none"`` is also offered.
- **Output** ``softplus`` keeps a valid (non-negative) log-magnitude; the last layer's bias starts at the
  target's mean log-spectrum (:meth:`set_output_bias`) so training starts from the right spectral envelope.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from .noise import multiscale_noise
from .pooling import all_sum, world_size


@dataclass
class GeneratorConfig:
    """Architecture of a generator (stored in checkpoints).

    ``dilations`` lists the residual blocks (kernel ``kernel_size`` each); ``noise_scales`` noise inputs
    of ``noise_channels`` channels each, scale ``s`` varying every ``scale_factor**s`` frames. The
    defaults are the recommended phase-free generator. ``seed`` draws the initial weights (whatever else
    was built before: a run is repeatable from its config alone).
    ``center`` (waveform kind only; ignored by the others): subtract from each bin's complex frames their
    mean over a centred window of ``center_window`` frames (odd; the slowest part of each bin's frame
    sequence, where a steady tone at the bin's centre lives); ``center_window=0``: the batch's mean frame
    while training, a running average of those in eval (the former design) - see :class:`WaveformGenerator`.
    """

    kind: Literal["texture", "style", "waveform", "waveform_style"] = "waveform"
    channels: int = 96
    kernel_size: int = 3
    dilations: list[int] = field(default_factory=lambda: [1, 2, 4, 8, 16, 32, 1, 2, 4, 8])
    noise_channels: int = 8
    noise_scales: int = 4
    scale_factor: int = 4
    norm: Literal["layer", "none"] = "layer"
    center: bool = True
    center_window: int = 33
    seed: int = 0


CENTER_MOMENTUM = 0.05  # of the running mean frame per training step (about the last 20 batches)


def make_noise(seeds: Sequence[int], start: int, length: int, channels: int, scales: int, factor: int,
               device: torch.device | str | None = None) -> torch.Tensor:
    """Multi-scale noise ``(len(seeds), channels * scales, length)`` at absolute frames ``start .. start+length-1``.

    Scale ``s`` is linearly interpolated between Gaussian knots every ``factor**s`` frames; each scale is
    rescaled to unit variance. The same seed and frame always give the same value, whatever window is
    asked and on whichever ``device`` it is made (counter-based: :mod:`texnet.noise`). Seeds in [0, 2**63).
    """
    if any(not 0 <= int(s) < 2**63 for s in seeds):
        raise ValueError(f"noise seeds must be in [0, 2**63), got {list(seeds)}")
    return multiscale_noise(torch.tensor([int(s) for s in seeds], dtype=torch.int64, device=device), start, length,
                            channels, scales, factor)


class FrameNorm(nn.Module):
    """LayerNorm over channels at each frame: ``(batch, channels, time)`` -> same; no coupling across time."""

    def __init__(self, channels: int):
        super().__init__()
        self.norm = nn.LayerNorm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.transpose(1, 2)).transpose(1, 2)


class ResidualBlock(nn.Module):
    """``x[crop] + Conv1x1(LeakyReLU(DilatedConv(norm(x))))``; shortens time by ``(kernel - 1) * dilation``."""

    def __init__(self, channels: int, kernel_size: int, dilation: int, norm: str):
        super().__init__()
        self.norm = FrameNorm(channels) if norm == "layer" else nn.Identity()
        self.conv = nn.Conv1d(channels, channels, kernel_size, dilation=dilation)
        self.mix = nn.Conv1d(channels, channels, 1)
        self.shrink = (kernel_size - 1) * dilation
        self.left = self.shrink // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.mix(F.leaky_relu(self.conv(self.norm(x)), 0.2))
        return x[..., self.left: x.shape[-1] - (self.shrink - self.left)] + h


class _Body(nn.Module):
    """Shared trunk: 1x1 in, residual dilated blocks, per-frame norm, 1x1 out to ``n_freq``, softplus."""

    def __init__(self, in_channels: int, n_freq: int, config: GeneratorConfig):
        super().__init__()
        c = config
        if c.kernel_size < 1 or c.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd and >= 1, got {c.kernel_size}")
        if c.channels < 1 or any(d < 1 for d in c.dilations):
            raise ValueError("channels and dilations must be >= 1")
        self.inp = nn.Conv1d(in_channels, c.channels, 1)
        self.blocks = nn.Sequential(*[ResidualBlock(c.channels, c.kernel_size, d, c.norm) for d in c.dilations])
        self.out_norm = FrameNorm(c.channels) if c.norm == "layer" else nn.Identity()
        self.out = nn.Conv1d(c.channels, n_freq, 1)
        self.receptive_field = 1 + sum((c.kernel_size - 1) * d for d in c.dilations)

    def raw(self, x: torch.Tensor) -> torch.Tensor:
        """The last layer's output before the output activation."""
        h = self.blocks(F.leaky_relu(self.inp(x), 0.2))
        return self.out(F.leaky_relu(self.out_norm(h), 0.2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.softplus(self.raw(x))


class TextureGenerator(nn.Module):
    """Noise ``(batch, noise_channels * noise_scales, frames + receptive_field - 1)`` -> ``(batch, n_freq, frames)``."""

    def __init__(self, n_freq: int, config: GeneratorConfig | None = None):
        super().__init__()
        self.config = config or GeneratorConfig()
        if self.config.noise_channels < 1 or self.config.noise_scales < 1 or self.config.scale_factor < 2:
            raise ValueError("need noise_channels >= 1, noise_scales >= 1 and scale_factor >= 2")
        self.n_freq = n_freq
        self.noise_dim = self.config.noise_channels * self.config.noise_scales
        self.body = _Body(self.noise_dim, n_freq, self.config)

    @property
    def receptive_field(self) -> int:
        """Noise frames that one output frame depends on."""
        return self.body.receptive_field

    def noise_frames(self, n_frames: int) -> int:
        """Noise length needed for ``n_frames`` output frames."""
        return n_frames + self.receptive_field - 1

    @torch.no_grad()
    def set_output_bias(self, mean_spec: torch.Tensor) -> None:
        """Start the output at a target mean log-spectrum ``(freq,)`` (inverse softplus of it as bias)."""
        y = mean_spec.clamp_min(1e-3).to(self.body.out.bias)
        self.body.out.bias.copy_(y + torch.log(-torch.expm1(-y)))

    def make_noise(self, n_frames: int, seeds: Sequence[int], start: int = 0) -> torch.Tensor:
        """Noise for output frames ``start .. start + n_frames - 1`` (absolute positions), one row per seed."""
        c = self.config
        dev = self.body.out.weight.device
        return make_noise(seeds, start, self.noise_frames(n_frames), c.noise_channels, c.noise_scales,
                          c.scale_factor, dev)

    def check_noise(self, noise: torch.Tensor) -> None:
        if noise.dim() != 3 or noise.shape[1] != self.noise_dim:
            raise ValueError(f"expected noise (batch, {self.noise_dim}, time), got {tuple(noise.shape)}")
        if noise.shape[-1] < self.receptive_field:
            raise ValueError(f"noise of {noise.shape[-1]} frames is shorter than the receptive field "
                             f"({self.receptive_field})")

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        self.check_noise(noise)
        return self.body(noise)

    @torch.no_grad()
    def generate(self, n_frames: int, seed: int = 0, start: int = 0) -> torch.Tensor:
        """``(n_freq, n_frames)`` spectrogram for frames ``start ..`` of the endless texture of ``seed``."""
        if n_frames < 1:
            raise ValueError(f"n_frames must be >= 1, got {n_frames}")
        return self(self.make_noise(n_frames, [seed], start))[0]


def complex_frames(out: torch.Tensor, n_freq: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """(real, imaginary) frames ``(batch, n_freq, frames)`` of a waveform generator's last layer ``out``
    ``(batch, 3 * n_freq, frames)``: magnitude ``exp(m)``, direction ``(u, v) / |(u, v)|``. A function of its
    own so the streaming and exported forms compute exactly the same (:mod:`texnet.realtime`)."""
    f = n_freq
    m, u, v = out[:, :f], out[:, f: 2 * f], out[:, 2 * f:]
    # log-magnitudes out: a step changes a quiet bin and a loud one by the same factor
    mag = torch.exp(m.clamp(max=30.0))
    # magnitude / |(u, v)| in one factor: a third of the element-wise passes over (batch, 3 * freq,
    # frames) of the naive form, a sizeable share of a generation on one CPU thread
    # (bench/RESULTS.md, "Implementation choices measured")
    scale = mag * torch.rsqrt(u * u + v * v + 1e-8)
    return u * scale, v * scale


def subtract_mean(re: torch.Tensor, im: torch.Tensor, mean: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Frames ``(batch, n_freq, frames)`` less a mean frame ``(2, n_freq)`` (real, imaginary)."""
    return re - mean[0, :, None], im - mean[1, :, None]


def centring_window(config: GeneratorConfig, mean_frame: bool) -> int:
    """The local-mean window ``config`` asks of a phase-free generator (0: none, or the mean frame where
    ``mean_frame`` allows it), checked."""
    if not config.center:
        return 0
    w = int(config.center_window)
    if (w != 0 or not mean_frame) and (w < 3 or w % 2 == 0):
        raise ValueError(f"center_window must be odd and >= 3{' (or 0)' if mean_frame else ''}, got {w}")
    return w


class _LocallyCentred:
    """The receptive field of a generator whose trunk ``body`` feeds a centring window ``local_window``."""

    body: "_Body"
    local_window: int

    @property
    def receptive_field(self) -> int:
        """Input frames that one output frame depends on (the trunk's, and the centring window's)."""
        return self.body.receptive_field + max(self.local_window - 1, 0)


def subtract_local_mean(re: torch.Tensor, im: torch.Tensor, window: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Frames ``(batch, n_freq, frames + window - 1)`` -> ``(batch, n_freq, frames)``: each frame less the
    mean of the ``window`` frames centred on it (valid: the first and last ``window // 2`` frames only feed
    their neighbours' means). A function of its own so the streaming and exported forms compute the same.

    Window sums as a suffix sum within one block of ``window`` frames plus a prefix sum within the next
    (van Herk / Gil-Werman): one pass whatever the window, and no running sum over the whole sequence,
    whose float error would grow with a generation's length. A pooling over the window cost more than the
    rest of a 60 s generation."""
    half = window // 2
    b, f, t = re.shape
    n = (t + window - 1) // window + 1
    x = F.pad(torch.cat([re, im]), (0, n * window - t)).reshape(2 * b, f, n, window)
    prefix = x.cumsum(-1)
    prefix[:, :, :, window - 1] = 0.0  # a window starting at a block's first frame is that block alone
    suffix = x.flip(-1).cumsum(-1).flip(-1)
    out = t - window + 1
    ends = prefix.reshape(2 * b, f, -1)[:, :, window - 1: window - 1 + out]
    mean = (suffix.reshape(2 * b, f, -1)[:, :, :out] + ends) * (1.0 / window)
    return re[..., half: t - half] - mean[:b], im[..., half: t - half] - mean[b:]


class WaveformGenerator(_LocallyCentred, TextureGenerator):
    """Phase-free texture generator: noise -> complex STFT frames -> waveform by one inverse STFT.

    The trunk is the texture generator's; its last layer emits ``3 * n_freq`` channels per frame: a
    magnitude ``exp(m)`` and a phase direction ``(u, v) / |(u, v)|``. Training passes the waveform
    back through the differentiable STFT front end into the same objective, so the generator learns
    magnitudes AND phases that belong to a real signal; inference needs no phase retrieval.
    ``forward`` returns the complex STFT ``(batch, n_freq, frames)``; the front end's ``istft`` makes audio.

    Phase: the STFT of a steady sinusoid at bin ``k``'s centre turns by ``2 pi k hop / n_fft`` per frame
    (a quarter turn per frame and bin index at hop ``n_fft / 4``). A convolutional generator fed
    stationary noise cannot know ``t mod 4``, so only every fourth bin can hold a steady tone; in the others
    overlapping frames partly cancel. Turning each bin by that advance at absolute frame positions made
    consistent frames in every bin, and with them steady tones and outputs more alike from seed to seed,
    for no gain in the texture statistics (``bench/RESULTS.md``, "What was tried and not kept").
    """

    def __init__(self, n_freq: int, config: GeneratorConfig | None = None):
        super().__init__(n_freq, config or GeneratorConfig(kind="waveform"))
        c = self.config
        self.n_fft = 2 * (n_freq - 1)
        self.local_window = centring_window(c, mean_frame=True)
        self.body.out = nn.Conv1d(c.channels, 3 * n_freq, 1)
        if self.mean_frame_centred:
            self.register_buffer("mean_frame", torch.zeros(2, n_freq))  # running (real, imag) mean per bin

    @torch.no_grad()
    def set_output_bias(self, mean_mag: torch.Tensor) -> None:
        """Start the magnitudes at a target's typical linear magnitude ``(freq,)``."""
        self.body.out.bias[: self.n_freq].copy_(torch.log(mean_mag.clamp_min(1e-8)).to(self.body.out.bias))

    @torch.no_grad()
    def scale_bins(self, gain: torch.Tensor) -> None:
        """Multiply every output frame's bin ``k`` by ``gain[k]`` ``(freq,)`` (positive): a shift of the
        log-magnitudes' bias, and the running mean frame scaled with it (:mod:`texnet.calibration`)."""
        if gain.shape != (self.n_freq,) or not bool((gain > 0).all()):
            raise ValueError(f"need {self.n_freq} positive gains, got shape {tuple(gain.shape)}")
        self.body.out.bias[: self.n_freq] += torch.log(gain).to(self.body.out.bias)
        if self.mean_frame_centred:
            self.mean_frame.mul_(gain.to(self.mean_frame))

    @property
    def mean_frame_centred(self) -> bool:
        """Centred by a mean frame (``center_window=0``: the batch's in training, a running one in eval)."""
        return bool(self.config.center) and not self.local_window

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        self.check_noise(noise)
        re, im = complex_frames(self.body.raw(noise), self.n_freq)
        if self.config.center:
            re, im = self._center(re, im)
        return torch.complex(re, im)

    def _center(self, re: torch.Tensor, im: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Remove each bin's slowest part: the mean over the centred window, or (``center_window=0``) the
        mean frame: the batch's while training (and track it), the running one in eval.

        A noise STFT's frames average to zero in every bin; a constant part of a bin's frames is a steady
        sinusoid at the bin's centre where hop and n_fft let it add up (bins 4k at hop n_fft / 4) and cancels
        elsewhere. Uncentred generators held a sizeable share of a bin's power in that constant part: lines at
        multiples of 86 Hz (with 1024-point frames) in their 8192-point spectra (``bench/RESULTS.md``,
        "Spectral lines"). A mean frame removes what is constant over all seeds and times; a part that stays
        for seconds in one texture (following the slow noise scales) still made lines at bins 4k, which
        the local mean removes, in training and inference alike (no running statistic)."""
        if self.local_window:
            return subtract_local_mean(re, im, self.local_window)
        if not self.training:
            mean = self.mean_frame.to(re)
        else:
            if world_size() > 1:  # the global batch's mean frame (texnet.pooling)
                count = all_sum(re.new_tensor(float(re.shape[0] * re.shape[2])))
                mean = all_sum(torch.stack([re.sum((0, 2)), im.sum((0, 2))])) / count
            else:
                mean = torch.stack([re.mean((0, 2)), im.mean((0, 2))])
            with torch.no_grad():
                self.mean_frame.lerp_(mean.detach().to(self.mean_frame), CENTER_MOMENTUM)
        return subtract_mean(re, im, mean)


class StyleGenerator(nn.Module):
    """Content ``(batch, n_freq, frames)`` (+ noise) -> stylised ``(batch, n_freq, frames)``.

    The content is reflect-padded by half the receptive field on each side, so the output keeps its length.
    """

    def __init__(self, n_freq: int, config: GeneratorConfig | None = None):
        super().__init__()
        self.config = config or GeneratorConfig(kind="style")
        self.n_freq = n_freq
        self.noise_dim = self.config.noise_channels
        self.body = _Body(n_freq + self.noise_dim, n_freq, self.config)

    @property
    def receptive_field(self) -> int:
        return self.body.receptive_field

    set_output_bias = TextureGenerator.set_output_bias

    def forward(self, content: torch.Tensor, seed: int = 0) -> torch.Tensor:
        _, x = content_input(content, self.n_freq, self.receptive_field, self.noise_dim, seed)
        return self.body(x)


def content_input(content: torch.Tensor, n_freq: int, receptive_field: int, noise_dim: int,
                  seed: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """A style generator's input: the content ``(batch, n_freq, frames)`` padded by half the receptive field on
    each side, and that beside one scale of noise (``noise_dim`` channels, seeds ``seed + item``):
    ``(batch, n_freq, frames + receptive_field - 1)``, ``(batch, n_freq + noise_dim, same)``."""
    if content.dim() != 3 or content.shape[1] != n_freq:
        raise ValueError(f"expected content (batch, {n_freq}, time), got {tuple(content.shape)}")
    left = (receptive_field - 1) // 2
    # reflect padding needs more frames than the pad; replicate covers very short inputs
    mode = "reflect" if content.shape[-1] > receptive_field else "replicate"
    padded = F.pad(content, (left, receptive_field - 1 - left), mode=mode)
    seeds = [seed + i for i in range(content.shape[0])]
    noise = make_noise(seeds, 0, padded.shape[-1], noise_dim, 1, 2, content.device).to(content)
    return padded, torch.cat([padded, noise], dim=1)


class WaveformStyleGenerator(_LocallyCentred, nn.Module):
    """Content log-magnitudes ``(batch, n_freq, frames)`` (+ noise) -> complex STFT frames ``(batch, n_freq,
    frames)`` of the stylised sound: the style-transfer generator of the phase-free design.

    The input side is :class:`StyleGenerator`'s (the content reflect-padded by half the receptive field, one
    noise scale beside it), the output side :class:`WaveformGenerator`'s (log-magnitude and phase direction
    per bin, each bin's local mean removed), so it is trained through the inverse STFT against the waveform
    objective (auditory and spectrum terms included) with the content's own crops as content targets,
    and makes audio with one inverse STFT. Only the local-mean centring (or none).
    """

    def __init__(self, n_freq: int, config: GeneratorConfig | None = None):
        super().__init__()
        c = self.config = config or GeneratorConfig(kind="waveform_style")
        self.local_window = centring_window(c, mean_frame=False)
        self.n_freq = n_freq
        self.noise_dim = c.noise_channels
        self.body = _Body(n_freq + self.noise_dim, n_freq, c)
        self.body.out = nn.Conv1d(c.channels, 3 * n_freq, 1)
        # each bin's content level passed straight to its output log-magnitude, with a learnt gain: the trunk's
        # channels are far fewer than the bins, too few to carry a voice's harmonics through
        self.content_gain = nn.Parameter(torch.zeros(n_freq))

    set_output_bias = WaveformGenerator.set_output_bias

    def forward(self, content: torch.Tensor, seed: int = 0) -> torch.Tensor:
        padded, x = content_input(content, self.n_freq, self.receptive_field, self.noise_dim, seed)
        out = self.body.raw(x)
        at = (self.body.receptive_field - 1) // 2  # the trunk's frame j is the padded content's frame j + at
        m = out[:, : self.n_freq] + self.content_gain[:, None] * padded[..., at: at + out.shape[-1]]
        re, im = complex_frames(torch.cat([m, out[:, self.n_freq:]], dim=1), self.n_freq)
        if self.local_window:
            re, im = subtract_local_mean(re, im, self.local_window)
        return torch.complex(re, im)


def build_generator(n_freq: int, config: GeneratorConfig) -> nn.Module:
    """The generator ``config`` names, its initial weights drawn from ``config.seed``."""
    kinds = {"texture": TextureGenerator, "style": StyleGenerator, "waveform": WaveformGenerator,
             "waveform_style": WaveformStyleGenerator}
    if config.kind in kinds:
        with torch.random.fork_rng(devices=[]):  # the weights come from the config's seed, not the global RNG
            torch.manual_seed(int(config.seed))
            return kinds[config.kind](n_freq, config)
    raise ValueError(f"unknown generator kind {config.kind!r} (expected 'texture', 'style', 'waveform' or "
                     "'waveform_style')")
