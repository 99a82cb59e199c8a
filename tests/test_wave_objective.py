"""The waveform objective: one or several STFT resolutions judging audio, as the phase-free baseline and
the waveform generator use it."""
from __future__ import annotations

import pytest
import torch

from texnet.descriptors import DescriptorConfig, build_descriptor
from texnet.frontends import FrontendConfig, STFTFrontend, build_frontend
from texnet.objectives import ObjectiveConfig, TextureObjective
from texnet.optimize import OptimizeConfig, run_baseline
from texnet.wave_objective import WaveObjective

DESC = DescriptorConfig(n_filters=16, kernel_sizes=[5])


def build(resolutions=(), frontend: FrontendConfig | None = None, whitening: float = 0.0) -> WaveObjective:
    fe = build_frontend(frontend or FrontendConfig(n_fft=256, hop_length=64, scale="power"))
    obj = TextureObjective(build_descriptor(fe.n_freq, DESC),
                           ObjectiveConfig(resolutions=list(resolutions), band_whitening=whitening))
    return WaveObjective.build(fe, obj)


def test_no_resolutions_is_the_front_end_and_objective_themselves(rain_wave):
    fe = STFTFrontend(FrontendConfig(n_fft=256, hop_length=64))
    obj = TextureObjective(build_descriptor(fe.n_freq, DESC))
    wo = WaveObjective.build(fe, obj)
    assert wo.n_resolutions == 1 and wo.frontends[0] is fe and wo.objectives[0] is obj
    wo.set_style([rain_wave[:22050]])
    x = rain_wave[None, 22050:44100]
    assert torch.equal(wo(x).total, obj(fe(x)).total)


def test_each_resolution_has_its_own_stft_hop_and_descriptor():
    wo = build([128, 512, 2048])
    assert [fe.n_fft for fe in wo.frontends] == [128, 512, 2048]
    assert [fe.hop_length for fe in wo.frontends] == [32, 128, 512]
    assert all(fe.config.scale == "power" for fe in wo.frontends)  # the front end's scale carries over
    assert [o.descriptor.config.seed for o in wo.objectives] == [0, 1, 2]
    # independent random weights, and every descriptor frozen
    w0 = wo.objectives[0].descriptor.branches[0][0].weight
    w1 = wo.objectives[1].descriptor.branches[0][0].weight
    assert w0.shape[0] == w1.shape[0] and w0.shape[1] != w1.shape[1]
    assert not any(p.requires_grad for p in wo.parameters())
    # the longest window sets the needed length: (5 - 1) frames of hop 512 + the last frame's centre
    assert wo.min_samples() == 4 * 512
    assert wo.margin_samples() == 4 * 512 + 1024


def test_loss_is_the_mean_over_resolutions_and_tells_the_source_from_noise(rain_wave):
    wo = build([128, 1024])
    wo.set_style([rain_wave[:33075]])
    same = rain_wave[None, 33075:]
    noise = 0.1 * torch.randn(1, same.shape[-1], generator=torch.Generator().manual_seed(0))
    parts = [obj(fe(same)).style for fe, obj in zip(wo.frontends, wo.objectives)]
    assert torch.allclose(wo(same).style, (parts[0] + parts[1]) / 2)
    assert torch.allclose(wo.style(same), wo(same).style)
    assert wo(same).style.item() < 0.5 * wo(noise).style.item()


def test_gradients_reach_the_waveform_only(rain_wave):
    wo = build([128, 512])
    wo.set_style([rain_wave[:22050]])
    x = (0.1 * torch.randn(2, 8000, generator=torch.Generator().manual_seed(1))).requires_grad_(True)
    wo(x).total.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in wo.parameters())


def test_bad_configurations_are_refused():
    with pytest.raises(ValueError, match="too small"):
        build([4])
    cqt = build_frontend(FrontendConfig(kind="cqt", hop_length=256, n_bins=24))
    obj = TextureObjective(build_descriptor(cqt.n_freq, DESC))
    with pytest.raises(ValueError, match="STFT"):
        WaveObjective.build(cqt, obj)
    with pytest.raises(ValueError, match="power"):
        build([128], FrontendConfig(n_fft=256, hop_length=64), whitening=1.0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        build([128], whitening=1.5)


def test_whitening_puts_every_bin_of_the_target_at_the_same_mean_level(rain_wave):
    plain, white = build([128, 512]), build([128, 512], whitening=1.0)
    assert white.owns_targets and build(whitening=0.5).owns_targets and not build().owns_targets
    src = rain_wave[:33075]
    white.set_style([src])
    for i, fe in enumerate(white.frontends):
        seen = torch.expm1(white.spectrogram(i, src[None])[0]).mean(-1)  # P / (P0 r) averaged over time
        raw = torch.expm1(plain.spectrogram(i, src[None])[0]).mean(-1)  # P / P0
        live = raw > 1e-4 * raw.mean()
        assert raw[live].max() / raw[live].min() > 100  # rain spans decades across bins ...
        # ... whitened, every bin sits at the overall mean level (the reference is relative to it)
        assert torch.allclose(seen[live], raw.mean().expand(int(live.sum())), rtol=1e-3)
        assert torch.equal(plain.spectrogram(i, src[None]), fe(src[None]))  # no whitening: the front end's
    # the reference is the target's: a louder high band in the candidate now costs as much as a low one
    x = rain_wave[None, 33075:]
    assert white(x).style.item() < 0.5 * white(0.1 * torch.randn_like(x)).style.item()


def test_half_whitening_is_the_square_root_of_full_whitening(rain_wave):
    full, half = build([256], whitening=1.0), build([256], whitening=0.5)
    full.set_style([rain_wave[:22050]])
    half.set_style([rain_wave[:22050]])
    assert torch.allclose(half.band_gain(0), full.band_gain(0).sqrt(), rtol=1e-5)


def test_waveform_baseline_matches_every_resolution(rain_wave):
    fe = STFTFrontend(FrontendConfig(n_fft=256, hop_length=64, scale="power"))
    obj = TextureObjective(build_descriptor(fe.n_freq, DESC), ObjectiveConfig(resolutions=[128, 1024]))
    out = run_baseline(obj, fe, [rain_wave[:33075]], 0.6, config=OptimizeConfig(max_iter=30, progress=False),
                       domain="waveform")
    assert out.wave.dim() == 1 and abs(out.wave.shape[0] - round(0.6 * 22050)) <= fe.hop_length
    assert out.result.losses[-1] < 0.5 * out.result.losses[0]
    # the reported loss is the multi-resolution one, judged on the returned audio
    wo = WaveObjective.build(fe, obj)
    wo.set_style([rain_wave[:33075]])
    assert out.result.style_loss == pytest.approx(wo(out.wave[None]).style.item(), rel=1e-4)
