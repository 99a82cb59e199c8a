"""The tone guard (the ``tone_weight`` term of the waveform objective): steady tones the target lacks."""
from __future__ import annotations

import math

import pytest
import torch

from texnet.descriptors import DescriptorConfig
from texnet.frontends import FrontendConfig
from texnet.loss import ObjectiveConfig, build_objective
from texnet.tones import TONE_N_FFT, ToneGuard, ripple_db

SR = 22050


def noise(seconds: float, seed: int) -> torch.Tensor:
    """Brown-ish noise: a sloped, smooth long-term spectrum with no lines."""
    g = torch.Generator().manual_seed(seed)
    white = torch.randn(int(seconds * SR), generator=g)
    return torch.cumsum(white, 0) * 0.02 + white  # low-frequency tilt, then flat


def tone(seconds: float, hz: float, amplitude: float) -> torch.Tensor:
    return amplitude * torch.sin(2 * math.pi * hz * torch.arange(int(seconds * SR)) / SR)


def guard_on(*targets: torch.Tensor, weights=None) -> ToneGuard:
    guard = ToneGuard(SR)
    guard.set_target(list(targets), weights)
    return guard


def test_ripple_is_zero_on_a_smooth_spectrum_and_marks_a_peak():
    smooth = torch.linspace(1.0, 4.0, 500)  # a straight line of power: its running mean is itself
    assert ripple_db(smooth)[30:-30].abs().max() < 0.01
    peaked = smooth.clone()
    peaked[250] *= 10
    r = ripple_db(peaked)
    assert r.argmax() == 250 and r[250] > 9.0
    assert ripple_db(torch.stack([smooth, peaked])).shape == (2, 500)


def test_a_tone_the_target_lacks_scores_high_fresh_noise_low():
    guard = guard_on(noise(10, 0))
    with torch.no_grad():
        fresh = guard(noise(6, 1)[None]).item()  # what an estimate from 6 s scores by chance
        hum = guard((noise(6, 1) + tone(6, 440.0, 1.0))[None]).item()
    assert hum > 0.05 and hum > 10 * fresh


def test_the_targets_own_tones_are_free():
    hum = tone(10, 440.0, 1.0)
    guard = guard_on(noise(10, 0) + hum)
    with torch.no_grad():
        same = guard((noise(6, 1) + hum[: 6 * SR])[None]).item()
        other = guard((noise(6, 1) + tone(6, 1234.0, 1.0))[None]).item()
    assert same < 0.015 and other > 5 * same


def test_shapes_pooled_and_per_item_and_the_gradient_lowers_the_tone():
    guard = guard_on(noise(10, 0))
    x = torch.stack([noise(2, 1), noise(2, 2) + tone(2, 700.0, 1.0)]).requires_grad_()
    per_item, pooled = guard(x), guard(x, pooled=True)
    assert per_item.shape == (2,) and pooled.shape == (1,)
    assert per_item[1] > per_item[0]
    per_item.sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad[1].abs().sum() > 0
    with torch.no_grad():  # a small step down the gradient lowers the penalty
        stepped = guard(x - 0.05 * x.grad / x.grad.abs().max())
    assert stepped[1] < per_item[1]


def test_mixing_weights_pick_the_targets():
    a, b = noise(10, 0), noise(10, 3) + tone(10, 440.0, 1.0)
    assert torch.allclose(guard_on(a, b, weights=[1.0, 0.0]).target, guard_on(a).target)
    assert not torch.allclose(guard_on(a, b, weights=[0.5, 0.5]).target, guard_on(a).target)


def test_the_objective_logs_the_guard_and_needs_its_frames():
    cfg = ObjectiveConfig(resolutions=[128], auditory_weight=0.0, tone_weight=2.0)
    loss = build_objective(FrontendConfig(sample_rate=SR), DescriptorConfig(n_filters=8, kernel_sizes=[3]), cfg)
    loss.set_target([noise(4, 0)])
    x = torch.stack([noise(1, 1), noise(1, 2) + tone(1, 440.0, 1.0)])
    terms = loss(x)
    assert terms.parts["tones"].shape == (2,) and terms.parts["tones"][1] > terms.parts["tones"][0]
    assert loss.min_samples() >= TONE_N_FFT
    without = build_objective(FrontendConfig(sample_rate=SR), DescriptorConfig(n_filters=8, kernel_sizes=[3]),
                              ObjectiveConfig(resolutions=[128], auditory_weight=0.0, tone_weight=0.0))
    without.set_target([noise(4, 0)])
    assert "tones" not in without(x).parts and without.tones is None


@pytest.mark.parametrize("domain, weight, match", [("spectrogram", 1.0, "tone_weight judges audio"),
                                                   ("waveform", -1.0, "tone_weight must be >= 0")])
def test_bad_settings_are_refused(domain, weight, match):
    cfg = ObjectiveConfig(resolutions=[] if domain == "spectrogram" else [128], band_whitening=0.0,
                          spectrum_weight=0.0, auditory_weight=0.0, tone_weight=weight)
    with pytest.raises(ValueError, match=match):
        build_objective(FrontendConfig(sample_rate=SR), DescriptorConfig(n_filters=8, kernel_sizes=[3]), cfg, domain=domain)


def test_a_contents_lines_are_allowed_stored_or_per_item():
    guard = guard_on(noise(10, 0))
    voice = noise(6, 5) * 0.1 + tone(6, 440.0, 1.0)
    candidate = (noise(6, 1) + tone(6, 440.0, 1.0))[None]
    with torch.no_grad():
        alone = guard(candidate).item()
        given = guard(candidate, content=voice[None]).item()
        guard.set_content(voice)
        stored = guard(candidate).item()
        other = guard((noise(6, 1) + tone(6, 1234.0, 1.0))[None]).item()  # a line the content lacks
        guard.set_content(None)
        cleared = guard(candidate).item()
    assert given < 0.015 and stored < 0.015 and alone > 5 * given
    assert other > 5 * stored and cleared == pytest.approx(alone)


def test_a_candidate_equal_to_its_target_scores_zero_and_silence_keeps_finite_gradients():
    a = noise(6, 0)
    assert guard_on(a)(a[None]).item() == 0.0  # its ripple is the target's: nothing exceeds the margin
    silence = torch.zeros(2, 2 * SR, requires_grad=True)
    penalty = guard_on(a)(silence, pooled=True)
    penalty.sum().backward()
    assert torch.isfinite(penalty).all() and torch.isfinite(silence.grad).all()


def test_pooled_is_the_spectrum_of_all_items_together_not_a_mean_of_penalties():
    guard = guard_on(noise(10, 0))
    items = torch.stack([noise(6, 1), noise(6, 2) + tone(6, 440.0, 1.0)])
    with torch.no_grad():
        pooled, per_item = guard(items, pooled=True).item(), guard(items).mean().item()
        joined = guard(items.reshape(1, -1)).item()  # one recording of both: nearly the same frames
    assert pooled == pytest.approx(joined, rel=0.1) and abs(pooled - per_item) > 0.2 * pooled


def test_the_objective_passes_a_style_transfers_content_to_the_guard():
    cfg = ObjectiveConfig(resolutions=[128], auditory_weight=0.0, tone_weight=1.0)
    loss = build_objective(FrontendConfig(sample_rate=SR), DescriptorConfig(n_filters=8, kernel_sizes=[3]), cfg)
    loss.set_target([noise(6, 0)])
    voice = noise(4, 5) * 0.1 + tone(4, 440.0, 1.0)
    x = (noise(4, 1) + tone(4, 440.0, 1.0))[None]
    alone = loss(x).parts["tones"].item()
    per_item = loss(x, content=voice[None]).parts["tones"].item()
    loss.set_content(voice)
    stored = loss(x).parts["tones"].item()
    assert per_item < 0.2 * alone and stored < 0.2 * alone
