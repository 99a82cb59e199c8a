"""The one texture loss: its term modules (descriptor statistics, long-term spectrum) and the whole
:class:`TextureLoss` in the waveform and spectrogram domains."""
from __future__ import annotations

import pytest
import torch

from texnet.descriptors import DescriptorConfig, build_descriptor
from texnet.frontends import FrontendConfig, build_frontend
from texnet.loss import (DescriptorStatistics, LongTermSpectrum, ObjectiveConfig, TextureLoss, build_objective,
                         diversity_loss, gram, mix_stats, pool_batch)
from texnet.optimize import OptimizeConfig, run_baseline

STATS = ["mean_cov", "gram"]
N_FREQ = 129
# the paper's kind of objective: spectrograms in, no audio-only terms
SPECTROGRAM = dict(resolutions=[], band_whitening=0.0, spectrum_weight=0.0, auditory_weight=0.0, tone_weight=0.0)
DESC = DescriptorConfig(n_filters=16, kernel_sizes=[5])


def make_stats(statistic: str = "mean_cov", seed: int = 0, **kw) -> DescriptorStatistics:
    desc = build_descriptor(N_FREQ, DescriptorConfig(n_filters=64, kernel_sizes=[3, 9], seed=seed))
    return DescriptorStatistics(desc, ObjectiveConfig(statistic=statistic, **kw))


def style(stats: DescriptorStatistics, x: torch.Tensor) -> float:
    return stats.style(stats.descriptor(x[None])).item()


def wave_loss(resolutions=(128, 512), whitening: float = 0.0, **kw) -> TextureLoss:
    fe = FrontendConfig(n_fft=256, hop_length=64, scale="power")
    cfg = ObjectiveConfig(resolutions=list(resolutions), band_whitening=whitening, spectrum_weight=0.0,
                          auditory_weight=0.0, tone_weight=0.0)
    for k, v in kw.items():
        setattr(cfg, k, v)
    return build_objective(fe, DESC, cfg)


@pytest.fixture(scope="module")
def specs(tiny_spec):
    """Three seconds of rain (the target), later stretches of rain, and other textures."""
    return {
        "rain": tiny_spec("rain", 0.0, 3.0),
        "rain_2s": tiny_spec("rain", 3.0, 2.0),
        "rain_6s": tiny_spec("rain", 3.0, 6.0),
        "insects": tiny_spec("insects", 0.0, 3.0),
        "fire": tiny_spec("fire", 0.0, 3.0),
    }


def block_shuffle(spec: torch.Tensor, block: int, seed: int = 0) -> torch.Tensor:
    n = spec.shape[-1] // block
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    assert not torch.equal(perm, torch.arange(n))
    return torch.cat([spec[:, i * block:(i + 1) * block] for i in perm.tolist()], dim=1)


# ------------------------------------------------------------------------------------ descriptor statistics


@pytest.mark.parametrize("statistic", STATS)
def test_target_itself_has_zero_style_loss(specs, statistic):
    s = make_stats(statistic)
    s.set_style([specs["rain"]])
    loss = s.style(s.descriptor(specs["rain"][None]))
    assert loss.shape == (1,) and abs(loss.item()) < 1e-6


@pytest.mark.parametrize("statistic", STATS)
def test_block_shuffle_keeps_the_style(specs, statistic):
    """Shuffling blocks much longer than the receptive field only changes the activations at the seams:
    the statistics are (nearly) blind to temporal order, while another texture is far away."""
    s = make_stats(statistic)
    rain = specs["rain"]
    s.set_style([rain])
    block = 5 * s.receptive_field
    shuffled = block_shuffle(rain[:, : (rain.shape[-1] // block) * block], block)
    assert not torch.allclose(shuffled, rain[:, : shuffled.shape[-1]])
    other = style(s, specs["insects"])
    assert other > 0.05
    assert style(s, shuffled) < 0.05 * other
    assert style(s, specs["fire"]) > 20 * style(s, shuffled)


@pytest.mark.parametrize("statistic", STATS)
def test_style_loss_is_length_independent(specs, statistic):
    s = make_stats(statistic)
    s.set_style([specs["rain"]])
    other = style(s, specs["insects"])
    short, long = style(s, specs["rain_2s"]), style(s, specs["rain_6s"])
    assert short < 0.25 * other and long < 0.25 * other, (short, long, other)
    assert 1 / 3 < short / long < 3
    assert style(s, specs["rain"].repeat(1, 3)) < 1e-3 * other


def test_loss_values_follow_the_documented_formulas(specs):
    desc = build_descriptor(N_FREQ, DescriptorConfig(n_filters=32, kernel_sizes=[5], seed=4))
    t, x = specs["rain"], specs["insects"]
    a_t, a_x = desc(t[None])[0][0], desc(x[None])[0][0]
    g_t, g_x = a_t @ a_t.T / a_t.shape[1], a_x @ a_x.T / a_x.shape[1]
    expected_gram = ((g_x - g_t).pow(2).sum() / g_t.pow(2).sum()).item()
    mu_t, mu_x = a_t.mean(1), a_x.mean(1)
    c_t, c_x = g_t - torch.outer(mu_t, mu_t), g_x - torch.outer(mu_x, mu_x)
    expected_mc = ((mu_x - mu_t).pow(2).sum() / mu_t.pow(2).sum() + (c_x - c_t).pow(2).sum() / c_t.pow(2).sum()).item()
    for statistic, expected in (("gram", expected_gram), ("mean_cov", expected_mc)):
        s = DescriptorStatistics(desc, ObjectiveConfig(statistic=statistic))
        s.set_style([t])
        assert style(s, x) == pytest.approx(expected, rel=1e-3), statistic
    assert torch.allclose(gram(a_t[None])[0], g_t, rtol=1e-5, atol=1e-6)


def test_gram_gradient_equals_autograds_of_the_plain_product():
    a = torch.randn(2, 5, 30, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(2, 5, 5, dtype=torch.float64)  # not symmetric: both halves of the backward count
    (ours,) = torch.autograd.grad((gram(a) * weight).sum(), a)
    (plain,) = torch.autograd.grad(((a @ a.transpose(1, 2) / 30) * weight).sum(), a)
    torch.testing.assert_close(ours, plain)
    assert torch.autograd.gradcheck(gram, (a[:1, :3, :4].detach().requires_grad_(),))


def test_layer_weights_are_normalised_and_select_layers(specs):
    x, t = specs["insects"], specs["rain"]
    only_first, weighted = make_stats(style_layers=[0]), make_stats(layer_weights=[3.0, 0.0])
    for s in (only_first, weighted):
        s.set_style([t])
    assert style(weighted, x) == pytest.approx(style(only_first, x), rel=1e-5)
    with pytest.raises(ValueError, match="layer weights"):
        make_stats(layer_weights=[1.0])
    with pytest.raises(ValueError, match="out of range"):
        make_stats(style_layers=[2])
    with pytest.raises(ValueError, match="out of range"):
        make_stats(content_layers=[-1])
    with pytest.raises(ValueError, match="unknown style statistic"):
        make_stats("median")


@pytest.mark.parametrize("statistic", STATS)
def test_mixing_weights_one_zero_equals_the_single_target_and_are_normalised(specs, statistic):
    single, mixed, scaled = (make_stats(statistic) for _ in range(3))
    single.set_style([specs["rain"]])
    mixed.set_style([specs["rain"], specs["insects"]], [1.0, 0.0])
    scaled.set_style([specs["rain"], specs["insects"]], [7.0, 0.0])
    batch = torch.stack([specs["fire"], specs["insects"], specs["rain"]])
    ref = single.style(single.descriptor(batch))
    for s in (mixed, scaled):
        assert torch.allclose(s.style(s.descriptor(batch)), ref, rtol=1e-4, atol=1e-7)


def test_mixture_target_is_the_weighted_mean_of_the_statistics(specs):
    rain, insects = specs["rain"], specs["insects"]
    mix, r, i = make_stats("gram"), make_stats("gram"), make_stats("gram")
    mix.set_style([rain, insects], [1.0, 3.0])
    r.set_style([rain])
    i.set_style([insects])
    for j in range(2):
        want = 0.25 * getattr(r, f"_second{j}") + 0.75 * getattr(i, f"_second{j}")
        assert torch.allclose(getattr(mix, f"_second{j}"), want, rtol=1e-5, atol=1e-7)
    # a mixture sits between its sources: each scores better than a third texture
    assert style(mix, rain) < style(mix, specs["fire"]) and style(mix, insects) < style(mix, specs["fire"])


@pytest.mark.parametrize("weights, match", [
    ([1.0], "1 weights for 2 style sources"),
    ([1.0, 1.0, 1.0], "3 weights for 2"),
    ([1.0, -0.5], "non-negative"),
    ([0.0, 0.0], "positive sum"),
    ([1.0, float("nan")], "finite"),
])
def test_bad_mixing_weights_raise(specs, rain_wave, weights, match):
    with pytest.raises(ValueError, match=match):
        make_stats().set_style([specs["rain"], specs["insects"]], weights)
    with pytest.raises(ValueError, match=match):
        mix_stats([[torch.ones(2)], [torch.ones(2)]], weights)
    with pytest.raises(ValueError, match=match):  # the whole loss says so before any work
        wave_loss().set_target([rain_wave, rain_wave], weights)


def test_no_style_source_or_target_raises(specs):
    with pytest.raises(ValueError, match="at least one"):
        make_stats().set_style([])
    with pytest.raises(RuntimeError, match="set_target"):
        s = make_stats()
        s.style(s.descriptor(specs["rain"][None]))


def test_content_loss_zero_for_the_content_and_length_checked(specs):
    s = make_stats()
    s.set_content(specs["insects"])
    assert s.content(s.descriptor(specs["insects"][None])).item() < 1e-10
    assert s.content(s.descriptor(specs["fire"][None])).item() > 0.05
    with pytest.raises(ValueError, match="length"):
        s.content(s.descriptor(specs["rain_2s"][None]))
    s.set_content(None)
    assert not s.has_content and s.content(s.descriptor(specs["rain_2s"][None])).item() == 0.0


@pytest.mark.parametrize("statistic", STATS)
def test_batch_is_vectorised(specs, statistic):
    s = make_stats(statistic)
    s.set_style([specs["rain"], specs["fire"]], [0.3, 0.7])
    items = [specs["rain"], specs["insects"], specs["fire"]]
    batch = s.style(s.descriptor(torch.stack(items)))
    assert batch.shape == (3,)
    for i, x in enumerate(items):
        assert batch[i].item() == pytest.approx(style(s, x), rel=1e-4, abs=1e-7)
    assert len({round(v, 6) for v in batch.tolist()}) == 3


def test_diversity_loss(specs):
    desc = build_descriptor(N_FREQ, DescriptorConfig(n_filters=32, kernel_sizes=[3, 9]))
    different = desc(torch.stack([specs["rain"], specs["insects"]]))
    same = desc(torch.stack([specs["rain"], specs["rain"]]))
    near = desc(torch.stack([specs["rain"], specs["rain"] + 0.01]))
    d_diff, d_same, d_near = (diversity_loss(a).item() for a in (different, same, near))
    assert d_diff < -1e-3 and abs(d_same) < 1e-6
    assert d_diff < d_near < 0  # further apart -> more negative
    assert diversity_loss(desc(specs["rain"][None])).item() == 0.0


# ------------------------------------------------------------------------------------- long-term spectrum


def test_spectrum_term_reads_quiet_bands_in_a_true_log(specs):
    """A band 100x too loud in linear terms costs log10(100)^2 = 4 per bin of it, however quiet the band
    was; zero for the target itself; the descriptor's own loss barely moves for a quiet band."""
    lin = torch.expm1(specs["rain"])
    quiet = torch.arange(100, 116)
    lin[quiet] *= 1e-3
    target = torch.log1p(lin)
    spectrum = LongTermSpectrum(N_FREQ)
    spectrum.set_target([target])
    assert spectrum(target[None]).item() < 1e-6
    louder = lin.clone()
    louder[quiet] *= 100.0
    cand = torch.log1p(louder)[None]
    assert spectrum(cand).item() == pytest.approx(4.0 * 16 / N_FREQ, rel=0.02)
    plain = make_stats()
    plain.set_style([target])
    assert plain.style(plain.descriptor(cand)).item() < 0.1 * spectrum(cand).item()


def test_spectrum_term_mixes_linearly_and_passes_gradients(specs):
    spectrum = LongTermSpectrum(N_FREQ)
    spectrum.set_target([specs["rain"], specs["fire"]], [1.0, 3.0])
    mixed = (torch.expm1(specs["rain"]).mean(-1) + 3 * torch.expm1(specs["fire"]).mean(-1)) / 4
    assert torch.allclose(10 ** spectrum.target, mixed + spectrum.floor, rtol=1e-4)
    x = specs["insects"][None].clone().requires_grad_(True)
    spectrum(x).sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


# --------------------------------------------------------------------------- the whole loss, spectrogram


def test_spectrogram_loss_sums_style_content_and_weights(tiny_frontend, clip):
    cfg = ObjectiveConfig(content_weight=2.0, style_weight=0.5, **SPECTROGRAM)
    loss = build_objective(tiny_frontend, DESC, cfg, domain="spectrogram")
    assert loss.domain == "spectrogram" and loss.n_resolutions == 1
    rain, insects, fire = clip("rain", 2.0), clip("insects", 2.0), clip("fire", 2.0)
    loss.set_target([rain])
    own = loss(tiny_frontend(rain))
    assert own.style.item() < 1e-6 and own.content.item() == 0.0 and own.diversity.item() == 0.0
    loss.set_content(insects)
    other = loss(tiny_frontend(fire))
    assert other.content.item() > 0.05
    assert other.total.item() == pytest.approx(0.5 * other.style.item() + 2.0 * other.content.item(), rel=1e-5)
    assert loss(tiny_frontend(insects)).content.item() < 1e-10
    # a content per item (training a style-transfer generator) replaces the stored one
    per_item = loss(tiny_frontend(fire), content=tiny_frontend(fire))
    assert per_item.content.item() < 1e-10


def test_pooled_loss_is_the_loss_of_the_crops_side_by_side(specs, tiny_frontend, clip):
    loss = build_objective(tiny_frontend, DESC, ObjectiveConfig(**{**SPECTROGRAM,
                                                                "spectrum_weight": 0.5}), "spectrogram")
    loss.set_target([clip("rain", 3.0)])
    a, b = specs["rain_6s"][:, :100], specs["rain_6s"][:, 150:250]
    batch = torch.stack([a, b])
    pooled = loss(batch, pooled=True).style
    x = pool_batch(batch)
    assert pooled.shape == (1,) and x.shape == (1, N_FREQ, 200) and torch.equal(x[0, :, 100:], b)
    desc = loss.descriptors[0]
    side = desc.style([pool_batch(t) for t in desc.descriptor(batch)]) + 0.5 * loss.spectra[0](x)
    assert pooled.item() == pytest.approx(side.item(), rel=1e-6)
    # not the mean of the per-crop losses: short crops scatter around the target, their pool less so
    per_crop = loss(batch).style
    assert per_crop.shape == (2,) and pooled.item() < per_crop.mean().item()


def test_diversity_enters_the_total_with_its_weight(tiny_frontend, clip):
    loss = build_objective(tiny_frontend, DESC, ObjectiveConfig(diversity_weight=0.5, **SPECTROGRAM), "spectrogram")
    loss.set_target([clip("rain", 2.0)])
    batch = torch.cat([tiny_frontend(clip("rain", 2.0)), tiny_frontend(clip("fire", 2.0))])
    terms = loss(batch, pooled=True)
    assert terms.diversity.item() < -1e-3
    assert torch.allclose(terms.total, terms.style + terms.content + 0.5 * terms.diversity)


def test_audio_only_terms_are_refused_in_the_spectrogram_domain(tiny_frontend):
    for key, value in (("resolutions", [128]), ("band_whitening", 0.5), ("auditory_weight", 1.0),
                       ("tone_weight", 1.0)):
        with pytest.raises(ValueError, match=key):
            build_objective(tiny_frontend, DESC, ObjectiveConfig(**{**SPECTROGRAM, key: value}), "spectrogram")
    with pytest.raises(ValueError, match="unknown domain"):
        build_objective(tiny_frontend, DESC, ObjectiveConfig(), "image")


# ------------------------------------------------------------------------------ the whole loss, waveform


def test_recipe_defaults_build_three_resolutions_with_every_term():
    loss = build_objective(FrontendConfig(), DescriptorConfig(n_filters=8), ObjectiveConfig())
    assert loss.domain == "waveform" and loss.auditory is not None and loss.spectra is not None
    assert loss.tones is not None and loss.config.tone_weight > 0
    assert [v.frontend.n_fft for v in loss.views] == [128, 512, 2048]
    assert all(v.whitening == 0.5 for v in loss.views)


def test_no_resolutions_is_the_front_ends_own_stft(rain_wave):
    fe = build_frontend(FrontendConfig(n_fft=256, hop_length=64))
    loss = build_objective(fe, DESC, ObjectiveConfig(**SPECTROGRAM), "waveform")
    assert loss.n_resolutions == 1 and loss.views[0].frontend is fe
    spec_loss = build_objective(fe, DESC, ObjectiveConfig(**SPECTROGRAM), "spectrogram")
    for l in (loss, spec_loss):
        l.set_target([rain_wave[:22050]])
    x = rain_wave[None, 22050:44100]
    assert torch.equal(loss(x).total, spec_loss(fe(x)).total)


def test_each_resolution_has_its_own_stft_hop_and_descriptor():
    loss = wave_loss([128, 512, 2048])
    assert [v.frontend.n_fft for v in loss.views] == [128, 512, 2048]
    assert [v.frontend.hop_length for v in loss.views] == [32, 128, 512]
    assert all(v.frontend.config.scale == "power" for v in loss.views)  # the front end's scale carries over
    assert [d.descriptor.config.seed for d in loss.descriptors] == [0, 1, 2]
    w0 = loss.descriptors[0].descriptor.branches[0][0].weight
    w1 = loss.descriptors[1].descriptor.branches[0][0].weight
    assert w0.shape[0] == w1.shape[0] and w0.shape[1] != w1.shape[1]
    assert not any(p.requires_grad for p in loss.parameters())
    # the longest window sets the needed length: (5 - 1) frames of hop 512 + the last frame's centre
    assert loss.min_samples() == 4 * 512
    assert loss.margin_samples() == 4 * 512 + 1024


def test_loss_is_the_mean_over_resolutions_and_tells_the_source_from_noise(rain_wave):
    loss = wave_loss([128, 1024])
    loss.set_target([rain_wave[:33075]])
    same = rain_wave[None, 33075:]
    noise = 0.1 * torch.randn(1, same.shape[-1], generator=torch.Generator().manual_seed(0))
    parts = [d.style(d.descriptor(v(same))) for v, d in zip(loss.views, loss.descriptors)]
    assert torch.allclose(loss(same).style, (parts[0] + parts[1]) / 2)
    assert loss(same).style.item() < 0.5 * loss(noise).style.item()


def test_gradients_reach_the_waveform_only(rain_wave):
    loss = wave_loss()
    loss.set_target([rain_wave[:22050]])
    x = (0.1 * torch.randn(2, 8000, generator=torch.Generator().manual_seed(1))).requires_grad_(True)
    loss(x).total.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in loss.parameters())


def test_bad_configurations_are_refused():
    with pytest.raises(ValueError, match="too small"):
        wave_loss([4])
    cqt = FrontendConfig(kind="cqt", hop_length=256, n_bins=24, scale="log1p")
    with pytest.raises(ValueError, match="STFT"):
        build_objective(cqt, DESC, ObjectiveConfig(**SPECTROGRAM))
    with pytest.raises(ValueError, match="power"):
        build_objective(FrontendConfig(n_fft=256, hop_length=64, scale="log1p"), DESC,
                        ObjectiveConfig(resolutions=[128], band_whitening=1.0, auditory_weight=0))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        wave_loss(whitening=1.5)


def test_whitening_puts_every_bin_of_the_target_at_the_same_mean_level(rain_wave):
    plain, white = wave_loss(), wave_loss(whitening=1.0)
    src = rain_wave[:33075]
    white.set_target([src])
    plain.set_target([src])
    for i, view in enumerate(white.views):
        seen = torch.expm1(white.spectrogram(i, src[None])[0]).mean(-1)  # P / (P0 r) averaged over time
        raw = torch.expm1(plain.spectrogram(i, src[None])[0]).mean(-1)  # P / P0
        live = raw > 1e-4 * raw.mean()
        assert raw[live].max() / raw[live].min() > 100  # rain spans decades across bins ...
        assert torch.allclose(seen[live], raw.mean().expand(int(live.sum())), rtol=1e-3)  # ... whitened, none
        assert torch.equal(plain.spectrogram(i, src[None]), view.frontend(src[None]))
    x = rain_wave[None, 33075:]
    assert white(x).style.item() < 0.5 * white(0.1 * torch.randn_like(x)).style.item()


def test_half_whitening_is_the_square_root_of_full_whitening(rain_wave):
    full, half = wave_loss([256], whitening=1.0), wave_loss([256], whitening=0.5)
    full.set_target([rain_wave[:22050]])
    half.set_target([rain_wave[:22050]])
    assert torch.allclose(half.views[0].gain, full.views[0].gain.sqrt(), rtol=1e-5)


def test_waveform_baseline_optimises_this_loss(rain_wave):
    loss = wave_loss([128, 1024])
    out = run_baseline(loss, [rain_wave[:33075]], 0.6, config=OptimizeConfig(max_iter=30, progress=False))
    assert out.wave.dim() == 1 and abs(out.wave.shape[0] - round(0.6 * 22050)) <= 64
    assert out.result.losses[-1] < 0.5 * out.result.losses[0]
    # the reported loss is the loss's own, judged on the returned audio
    assert out.result.style_loss == pytest.approx(loss(out.wave[None]).style.item(), rel=1e-4)
