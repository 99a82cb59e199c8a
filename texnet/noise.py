"""Position-indexed Gaussian noise from integer tensor ops: a counter-based generator.

Every value is a pure function of ``(seed, scale, channel, knot index)``: a SplitMix64 stream (Steele,
Lea & Flood 2014) keyed by the seed, scale and channel and indexed by the knot, turned into two 53-bit
uniforms and one Gaussian by Box-Muller. Nothing is drawn in sequence, so

- any window of an endless noise is made on its own and equals the slice of a longer one;
- it runs where the generator runs (CPU or GPU, no Python-side generator, no host round trip): the
  hash is exact 64-bit integer arithmetic, the same bits on every device;
- it compiles with TorchScript, so an exported model carries its own noise.

torch has no unsigned 64-bit arithmetic: ``int64`` multiplication and addition wrap (two's complement)
exactly as ``uint64`` ones do, and a logical right shift is an arithmetic one with the sign-extended high
bits masked off. The Gaussians are computed in float64 and rounded to float32, so a last-bit difference
between two devices' ``log``/``cos`` almost never reaches the float32 value.

    noise = multiscale_noise(torch.tensor([3]), start=1000, length=64, channels=8, scales=4, factor=4)
"""
from __future__ import annotations

import math

import torch
from torch import nn

# SplitMix64's constants appear as literals below (TorchScript compiles no global ints), written as the
# signed 64-bit integers with the unsigned ones' bits: golden ratio 0x9E3779B97F4A7C15 = -7046029254386353131,
# 0xBF58476D1CE4E5B9 = -4658895280553007687, 0x94D049BB133111EB = -7723592293110705685; 2**-53 =
# 1.1102230246251565e-16 (exact).


def _shr(x: torch.Tensor, bits: int) -> torch.Tensor:
    """Logical right shift of int64 bit patterns (torch's ``>>`` is arithmetic: mask the sign copies)."""
    return torch.bitwise_and(torch.bitwise_right_shift(x, bits), (1 << (64 - bits)) - 1)


def mix64(x: torch.Tensor) -> torch.Tensor:
    """SplitMix64's finaliser (a bijection of 64-bit words with full avalanche), on int64 tensors."""
    x = torch.bitwise_xor(x, _shr(x, 30)) * -4658895280553007687
    x = torch.bitwise_xor(x, _shr(x, 27)) * -7723592293110705685
    return torch.bitwise_xor(x, _shr(x, 31))


def stream_key(seeds: torch.Tensor, scale: torch.Tensor, channel: torch.Tensor) -> torch.Tensor:
    """The 64-bit key of the stream of ``(seed, scale, channel)`` (broadcast int64 tensors)."""
    k = mix64(seeds + -7046029254386353131)
    k = mix64(k + (scale + 1) * -7046029254386353131)
    return mix64(k + (channel + 1) * -7046029254386353131)


def gaussian_at(key: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Standard normal float32 values at knot ``index`` of the streams ``key`` (broadcast int64 tensors).

    Draws ``2 index + 1`` and ``2 index + 2`` of the SplitMix64 stream started at ``key`` give the two
    uniforms of one Box-Muller pair (only its cosine half is used)."""
    a = mix64(key + (2 * index + 1) * -7046029254386353131)
    b = mix64(key + (2 * index + 2) * -7046029254386353131)
    u1 = (_shr(a, 11) + 1).to(torch.float64) * 1.1102230246251565e-16  # (0, 1]: log is finite
    u2 = _shr(b, 11).to(torch.float64) * 1.1102230246251565e-16        # [0, 1)
    return (torch.sqrt(-2.0 * torch.log(u1)) * torch.cos((2.0 * math.pi) * u2)).to(torch.float32)


def multiscale_noise(seeds: torch.Tensor, start: int, length: int, channels: int, scales: int,
                     factor: int) -> torch.Tensor:
    """Noise ``(len(seeds), channels * scales, length)`` at absolute frames ``start .. start + length - 1``.

    ``seeds``: int64 ``(batch,)`` on the device the noise is wanted on. Scale ``s`` (channels
    ``s * channels ..``) is linearly interpolated between Gaussian knots every ``factor**s`` frames and
    rescaled to unit variance; scale 0 is the knots themselves. The same seed and frame give the same
    value whatever window is asked."""
    if length < 1 or start < 0:
        raise ValueError(f"noise window needs start >= 0 and length >= 1, got start={start}, length={length}")
    dev = seeds.device
    steps = [1]  # factor ** s, as ints (TorchScript's int ** int is a float)
    for _ in range(1, scales):
        steps.append(steps[-1] * factor)
    step = torch.tensor(steps, dtype=torch.int64, device=dev).reshape(-1, 1)           # (scales, 1)
    pos = torch.arange(start, start + length, dtype=torch.int64, device=dev).reshape(1, -1)
    lo = torch.div(pos, step, rounding_mode="floor")                                    # (scales, length)
    frac = (pos - lo * step).to(torch.float32) / step.to(torch.float32)
    # every scale at once, the finest too (its frac is 0: exactly its knots)
    key = stream_key(seeds.to(torch.int64).reshape(-1, 1, 1, 1),
                     torch.arange(scales, dtype=torch.int64, device=dev).reshape(1, -1, 1, 1),
                     torch.arange(channels, dtype=torch.int64, device=dev).reshape(1, 1, -1, 1))
    knots = gaussian_at(key.unsqueeze(1), torch.stack([lo, lo + 1]).unsqueeze(2))      # (batch, 2, scales, channels, length)
    frac = frac.unsqueeze(1)
    v = knots[:, 0] * (1 - frac) + knots[:, 1] * frac
    # linear interpolation of unit-variance knots has variance (1-f)^2 + f^2; undo it
    v = v / torch.sqrt((1 - frac) ** 2 + frac ** 2)
    return v.reshape(v.shape[0], scales * channels, length)


class MultiScaleNoise(nn.Module):
    """:func:`multiscale_noise` as a module (scriptable): ``forward(seeds (batch,), start, length)`` ->
    ``(batch, channels * scales, length)`` on ``seeds``' device."""

    def __init__(self, channels: int, scales: int, factor: int):
        super().__init__()
        if channels < 1 or scales < 1 or factor < 2:
            raise ValueError("need channels >= 1, scales >= 1 and factor >= 2")
        self.channels, self.scales, self.factor = channels, scales, factor

    def forward(self, seeds: torch.Tensor, start: int, length: int) -> torch.Tensor:
        return multiscale_noise(seeds, start, length, self.channels, self.scales, self.factor)
