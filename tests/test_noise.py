"""Counter-based noise: exact 64-bit hashing, window invariance, statistics, determinism, TorchScript."""
import random
import warnings

import pytest
import torch

from texnet import noise as N

MASK = (1 << 64) - 1


def _mix_reference(x: int) -> int:
    """SplitMix64's finaliser on Python's unbounded ints, as published (Steele, Lea & Flood 2014)."""
    x &= MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def _signed(x: int) -> int:
    return x - (1 << 64) if x >= 1 << 63 else x


def test_mix64_is_exact_unsigned_arithmetic_on_int64():
    rng = random.Random(0)
    words = [0, 1, 2**63 - 1, 2**63, MASK] + [rng.getrandbits(64) for _ in range(2000)]
    got = N.mix64(torch.tensor([_signed(w) for w in words])).tolist()
    assert got == [_signed(_mix_reference(w)) for w in words]
    # the published first output of SplitMix64 seeded with 0 (state + golden ratio, then the finaliser)
    assert _signed(0xE220A8397B1DCDAF) == N.mix64(torch.tensor([_signed(0x9E3779B97F4A7C15)])).item()


def test_any_window_equals_the_slice_of_a_longer_one_bit_for_bit():
    seeds = torch.tensor([5, 2**63 - 1])
    full = N.multiscale_noise(seeds, 0, 3000, 3, 4, 4)
    for start, length in [(0, 1), (1, 1), (63, 2), (64, 1), (1234, 500), (2047, 900), (5, 2995)]:
        assert torch.equal(N.multiscale_noise(seeds, start, length, 3, 4, 4), full[..., start: start + length])
    # a batch is its rows made one by one
    assert torch.equal(N.multiscale_noise(seeds[1:], 17, 40, 3, 4, 4), full[1:, :, 17:57])


def test_far_positions_and_huge_seeds_stay_standard_normal():
    x = N.multiscale_noise(torch.tensor([2**62 + 7]), 10**12, 20000, 8, 1, 2)
    assert torch.isfinite(x).all()
    assert abs(x.mean().item()) < 0.02 and abs(x.var().item() - 1) < 0.03


def test_unit_variance_zero_mean_and_no_correlation_between_channels_scales_and_seeds():
    channels, scales, factor = 4, 3, 4
    x = N.multiscale_noise(torch.arange(6), 0, 40000, channels, scales, factor)  # (6, 12, 40000)
    assert x.dtype == torch.float32 and x.shape == (6, channels * scales, 40000)
    # per row mean ~0, variance ~1 (coarse scales have fewer independent knots: looser)
    for s in range(scales):
        rows = x[:, s * channels: (s + 1) * channels].reshape(-1, 40000)
        tol = 4 * (factor ** s / 40000) ** 0.5 + 0.01
        assert rows.mean(1).abs().max() < 4 * tol, s
        assert (rows.var(1) - 1).abs().max() < 0.1 + 4 * tol, s
    # correlations between every pair of rows (channels, scales, seeds): only what chance gives
    flat = x.reshape(-1, 40000)
    c = torch.corrcoef(flat)
    off = c[~torch.eye(c.shape[0], dtype=torch.bool)]
    assert off.abs().max() < 0.15, off.abs().max()  # coarsest scale: 40000 / 16 knots, |r| ~ 0.02 typical
    fine = x[:, :channels].reshape(-1, 40000)  # independent knots at every frame: tight
    cf = torch.corrcoef(fine)
    assert cf[~torch.eye(cf.shape[0], dtype=torch.bool)].abs().max() < 0.03
    # the finest scale is white: no correlation from one frame to the next
    lag = (fine[:, 1:] * fine[:, :-1]).mean()
    assert abs(lag.item()) < 0.01
    # tails: Box-Muller makes Gaussian tails (about 0.27% beyond 3 sigma)
    assert 0.0018 < (fine.abs() > 3).float().mean().item() < 0.0036


def test_coarse_scales_interpolate_between_knots():
    x = N.multiscale_noise(torch.tensor([1]), 0, 65, 2, 2, 4)[0]
    knots = x[2:, ::4]  # scale 1 at its knots (frac 0) is the knots themselves
    mid = x[2:, 2::4]   # half-way: (a + b) / 2 rescaled by 1 / sqrt(1/2)
    assert torch.allclose(mid, (knots[:, :-1] + knots[:, 1:]) / 2 / 0.5**0.5, atol=1e-6)


def test_deterministic_and_seeded():
    a = N.multiscale_noise(torch.tensor([3]), 100, 50, 2, 2, 3)
    assert torch.equal(a, N.multiscale_noise(torch.tensor([3]), 100, 50, 2, 2, 3))
    assert not torch.allclose(a, N.multiscale_noise(torch.tensor([4]), 100, 50, 2, 2, 3))
    with pytest.raises(ValueError):
        N.multiscale_noise(torch.tensor([0]), -1, 10, 1, 1, 2)
    with pytest.raises(ValueError):
        N.multiscale_noise(torch.tensor([0]), 0, 0, 1, 1, 2)


def test_scripted_module_gives_the_same_bits():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.script's deprecation notice
        m = torch.jit.script(N.MultiScaleNoise(3, 3, 4))
    seeds = torch.tensor([0, 9])
    assert torch.equal(m(seeds, 77, 300), N.multiscale_noise(seeds, 77, 300, 3, 3, 4))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_same_noise_on_cuda():
    seeds = torch.tensor([3, 4])
    cpu = N.multiscale_noise(seeds, 5000, 2000, 8, 4, 4)
    gpu = N.multiscale_noise(seeds.cuda(), 5000, 2000, 8, 4, 4)
    assert gpu.device.type == "cuda"
    # the hash is exact; float64 log/cos may differ in the last bit between devices, almost never
    # visible after rounding to float32
    assert (gpu.cpu() != cpu).float().mean().item() < 1e-4
    torch.testing.assert_close(gpu.cpu(), cpu, atol=1e-6, rtol=0)
