"""The shared objective: Gram/mean-covariance style loss, content loss, multi-texture mixing, diversity."""
from __future__ import annotations

import pytest
import torch

from texnet.descriptors import DescriptorConfig, build_descriptor
from texnet.frontends import FrontendConfig, STFTFrontend
from texnet.objectives import (ObjectiveConfig, StyleMemory, TextureObjective, consistency_loss, diversity_loss, gram,
                               mix_stats, pool_batch)

STATS = ["mean_cov", "gram"]
N_FREQ = 129


def make_objective(statistic: str = "mean_cov", seed: int = 0, **kw) -> TextureObjective:
    desc = build_descriptor(N_FREQ, DescriptorConfig(n_filters=64, kernel_sizes=[3, 9], seed=seed))
    return TextureObjective(desc, ObjectiveConfig(statistic=statistic, **kw))


def style(obj: TextureObjective, x: torch.Tensor) -> float:
    return obj(x[None]).style.item()


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


# ------------------------------------------------------------------------------------------- style loss


@pytest.mark.parametrize("statistic", STATS)
def test_target_itself_has_zero_style_loss(specs, statistic):
    obj = make_objective(statistic)
    obj.set_style([specs["rain"]])
    losses = obj(specs["rain"][None])
    assert losses.style.shape == (1,)
    assert abs(losses.style.item()) < 1e-6
    assert losses.content.item() == 0.0  # no content target set
    assert losses.total.item() == pytest.approx(losses.style.item())


@pytest.mark.parametrize("statistic", STATS)
def test_block_shuffle_keeps_the_style(specs, statistic):
    """Shuffling blocks much longer than the receptive field only changes the activations at the block
    seams: the Gram statistic is (nearly) blind to temporal order, while another texture is far away."""
    obj = make_objective(statistic)
    rain = specs["rain"]
    obj.set_style([rain])
    block = 5 * obj.receptive_field
    shuffled = block_shuffle(rain[:, : (rain.shape[-1] // block) * block], block)
    assert not torch.allclose(shuffled, rain[:, : shuffled.shape[-1]])
    shuffled_loss = style(obj, shuffled)
    other = style(obj, specs["insects"])
    assert other > 0.05
    assert shuffled_loss < 0.05 * other, (shuffled_loss, other)
    assert style(obj, specs["fire"]) > 20 * shuffled_loss


@pytest.mark.parametrize("statistic", STATS)
def test_style_loss_is_length_independent(specs, statistic):
    """Statistics are averages over positions: the same texture scores alike at 2 s and 6 s, and the
    target tiled three times scores (nearly) like the target itself."""
    obj = make_objective(statistic)
    obj.set_style([specs["rain"]])
    other = style(obj, specs["insects"])
    short, long = style(obj, specs["rain_2s"]), style(obj, specs["rain_6s"])
    assert short < 0.25 * other and long < 0.25 * other, (short, long, other)
    assert 1 / 3 < short / long < 3, (short, long)
    tiled = style(obj, specs["rain"].repeat(1, 3))
    assert tiled < 1e-3 * other, (tiled, other)


def test_loss_values_follow_the_documented_formulas(specs):
    """One descriptor layer; check both statistics against a direct computation."""
    desc = build_descriptor(N_FREQ, DescriptorConfig(n_filters=32, kernel_sizes=[5], seed=4))
    t, x = specs["rain"], specs["insects"]
    a_t, a_x = desc(t[None])[0][0], desc(x[None])[0][0]
    g_t, g_x = a_t @ a_t.T / a_t.shape[1], a_x @ a_x.T / a_x.shape[1]
    expected_gram = ((g_x - g_t).pow(2).sum() / g_t.pow(2).sum()).item()
    mu_t, mu_x = a_t.mean(1), a_x.mean(1)
    c_t, c_x = g_t - torch.outer(mu_t, mu_t), g_x - torch.outer(mu_x, mu_x)
    expected_mc = ((mu_x - mu_t).pow(2).sum() / mu_t.pow(2).sum() + (c_x - c_t).pow(2).sum() / c_t.pow(2).sum()).item()
    for statistic, expected in (("gram", expected_gram), ("mean_cov", expected_mc)):
        obj = TextureObjective(desc, ObjectiveConfig(statistic=statistic))
        obj.set_style([t])
        assert style(obj, x) == pytest.approx(expected, rel=1e-3), statistic
    assert torch.allclose(gram(a_t[None])[0], g_t, rtol=1e-5, atol=1e-6)


def test_layer_weights_are_normalised_and_select_layers(specs):
    x, t = specs["insects"], specs["rain"]
    only_first = make_objective(style_layers=[0])
    weighted = make_objective(layer_weights=[3.0, 0.0])
    for o in (only_first, weighted):
        o.set_style([t])
    assert style(weighted, x) == pytest.approx(style(only_first, x), rel=1e-5)
    with pytest.raises(ValueError, match="layer weights"):
        make_objective(layer_weights=[1.0])
    with pytest.raises(ValueError, match="out of range"):
        make_objective(style_layers=[2])
    with pytest.raises(ValueError, match="out of range"):
        make_objective(content_layers=[-1])


# ---------------------------------------------------------------------------------------- multi-texture


@pytest.mark.parametrize("statistic", STATS)
def test_mixing_weights_one_zero_equals_the_single_target(specs, statistic):
    single, mixed, scaled = (make_objective(statistic) for _ in range(3))
    single.set_style([specs["rain"]])
    mixed.set_style([specs["rain"], specs["insects"]], [1.0, 0.0])
    scaled.set_style([specs["rain"], specs["insects"]], [7.0, 0.0])
    batch = torch.stack([specs["fire"], specs["insects"], specs["rain"]])
    ref = single(batch).style
    assert torch.allclose(mixed(batch).style, ref, rtol=1e-4, atol=1e-7)
    assert torch.allclose(scaled(batch).style, ref, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("statistic", STATS)
def test_mixing_weights_are_normalised(specs, statistic):
    a, b = make_objective(statistic), make_objective(statistic)
    a.set_style([specs["rain"], specs["insects"]], [1.0, 3.0])
    b.set_style([specs["rain"], specs["insects"]], [0.25, 0.75])
    for ga, gb in zip(a.target_grams, b.target_grams):
        assert torch.allclose(ga, gb, rtol=1e-5, atol=1e-7)
    x = specs["fire"]
    assert style(a, x) == pytest.approx(style(b, x), rel=1e-5)


def test_mixture_target_is_the_weighted_mean_of_the_statistics(specs):
    obj = make_objective("gram")
    rain, insects = specs["rain"], specs["insects"]
    obj.set_style([rain, insects], [1.0, 1.0])
    _, g_r = obj.source_stats(rain)
    _, g_i = obj.source_stats(insects)
    for t, a, b in zip(obj.target_grams, g_r, g_i):
        assert torch.allclose(t, 0.5 * (a + b), rtol=1e-5, atol=1e-7)
    # a mixture sits between its sources: each source scores better than the third texture does
    assert style(obj, rain) < style(obj, specs["fire"]) and style(obj, insects) < style(obj, specs["fire"])
    # default weights (None) are equal
    eq = make_objective("gram")
    eq.set_style([rain, insects])
    assert all(torch.allclose(p, q) for p, q in zip(eq.target_grams, obj.target_grams))


@pytest.mark.parametrize("weights, match", [
    ([1.0], "1 weights for 2 style sources"),
    ([1.0, 1.0, 1.0], "3 weights for 2"),
    ([1.0, -0.5], "non-negative"),
    ([0.0, 0.0], "positive sum"),
])
def test_bad_mixing_weights_raise(specs, weights, match):
    obj = make_objective()
    with pytest.raises(ValueError, match=match):
        obj.set_style([specs["rain"], specs["insects"]], weights)
    with pytest.raises(ValueError, match=match):
        mix_stats([[torch.ones(2)], [torch.ones(2)]], weights)


def test_no_style_source_raises(specs):
    obj = make_objective()
    with pytest.raises(ValueError, match="at least one"):
        obj.set_style([])
    with pytest.raises(ValueError, match="at least one"):
        mix_stats([], None)
    with pytest.raises(RuntimeError, match="set_style"):
        obj(specs["rain"][None])


def test_unknown_statistic_raises(specs):
    with pytest.raises(ValueError, match="unknown style statistic"):
        make_objective("median").set_style([specs["rain"]])


# ----------------------------------------------------------------------------------------------- content


def test_content_loss_zero_for_the_content_and_length_checked(specs):
    obj = make_objective(content_weight=2.0, style_weight=0.5)
    obj.set_style([specs["rain"]])
    content = specs["insects"]
    obj.set_content(content)
    own = obj(content[None])
    assert own.content.item() < 1e-10
    other = obj(specs["fire"][None])
    assert other.content.item() > 0.05
    assert other.total.item() == pytest.approx(0.5 * other.style.item() + 2.0 * other.content.item(), rel=1e-5)
    with pytest.raises(ValueError, match="length"):
        obj(specs["rain_2s"][None])
    obj.set_content(None)
    assert obj.content_acts is None
    assert obj(specs["rain_2s"][None]).content.item() == 0.0


# --------------------------------------------------------------------------------------- batch, gradient


@pytest.mark.parametrize("statistic", STATS)
def test_batch_is_vectorised(specs, statistic):
    obj = make_objective(statistic)
    obj.set_style([specs["rain"], specs["fire"]], [0.3, 0.7])
    obj.set_content(specs["insects"])
    items = [specs["rain"], specs["insects"], specs["fire"]]
    batch = obj(torch.stack(items))
    assert batch.total.shape == batch.style.shape == batch.content.shape == (3,)
    for i, x in enumerate(items):
        one = obj(x[None])
        for name in ("total", "style", "content"):
            assert getattr(batch, name)[i].item() == pytest.approx(getattr(one, name).item(), rel=1e-4, abs=1e-7), (i, name)
    # distinct items give distinct losses (the batch is not collapsed)
    assert len({round(v, 6) for v in batch.style.tolist()}) == 3


def test_gradient_flows_to_the_candidate_only(specs):
    obj = make_objective()
    obj.set_style([specs["rain"]])
    x = specs["insects"][None].clone().requires_grad_(True)
    obj(x).total.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert all(p.grad is None and not p.requires_grad for p in obj.parameters())


# ---------------------------------------------------------------------------------------------- diversity


def test_diversity_loss(specs):
    desc = build_descriptor(N_FREQ, DescriptorConfig(n_filters=32, kernel_sizes=[3, 9]))
    different = desc(torch.stack([specs["rain"], specs["insects"]]))
    same = desc(torch.stack([specs["rain"], specs["rain"]]))
    near = desc(torch.stack([specs["rain"], specs["rain"] + 0.01]))
    d_diff, d_same, d_near = (diversity_loss(a).item() for a in (different, same, near))
    assert d_diff < -1e-3
    assert abs(d_same) < 1e-6
    assert d_diff < d_near < 0  # further apart -> more negative
    assert diversity_loss(desc(specs["rain"][None])).item() == 0.0


# ---------------------------------------------------------------------------------- long-term spectrum


def test_spectrum_term_reads_quiet_bands_in_a_true_log(specs):
    """A band 100x too loud in linear terms costs log10(100)^2 = 4 per bin of it, however quiet the band
    was; zero for the target itself; the descriptor's own loss barely moves for a quiet band."""
    lin = torch.expm1(specs["rain"])
    quiet = torch.arange(100, 116)
    lin[quiet] *= 1e-3  # a band 30 dB under the rest (wind above 1 kHz: 40-60 dB)
    target = torch.log1p(lin)
    obj = make_objective(spectrum_weight=1.0)
    obj.set_style([target])
    assert obj(target[None]).style.item() < 1e-6
    louder = lin.clone()
    louder[quiet] *= 100.0
    cand = torch.log1p(louder)[None]
    assert obj.spectrum_loss(cand).item() == pytest.approx(4.0 * 16 / N_FREQ, rel=0.02)
    plain = make_objective()
    plain.set_style([target])
    assert plain(cand).style.item() < 0.1 * obj.spectrum_loss(cand).item()


def test_spectrum_term_needs_the_spectrogram_and_mixes_linearly(specs):
    obj = make_objective(spectrum_weight=0.5)
    obj.set_style([specs["rain"], specs["fire"]], [1.0, 3.0])
    acts = obj.descriptor(specs["rain"][None])
    with pytest.raises(ValueError, match="spectrum_weight"):
        obj.style_from_acts(acts)
    mixed = (torch.expm1(specs["rain"]).mean(-1) + 3 * torch.expm1(specs["fire"]).mean(-1)) / 4
    assert torch.allclose(10 ** obj._spectrum, mixed + obj._spectrum_floor, rtol=1e-4)
    x = specs["insects"][None].clone().requires_grad_(True)
    obj(x).total.sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_pooled_style_is_the_style_of_the_crops_side_by_side(specs):
    obj = make_objective(spectrum_weight=0.5)
    obj.set_style([specs["rain"]])
    a, b = specs["rain_6s"][:, :100], specs["rain_6s"][:, 150:250]
    batch = torch.stack([a, b])
    acts = obj.descriptor(batch)
    pooled = obj.style_from_acts(acts, batch, pooled=True)
    assert pooled.shape == (1,)
    # the same statistics as one excerpt whose activations are the two crops' activations in a row
    x = pool_batch(batch)
    assert x.shape == (1, N_FREQ, 200) and torch.equal(x[0, :, 100:], b)
    side = obj.style_from_acts([pool_batch(t) for t in acts], x)
    assert pooled.item() == pytest.approx(side.item(), rel=1e-6)
    # and not the mean of the per-crop losses: short crops scatter around the target, their pool less so
    per_crop = obj.style_from_acts(acts, batch)
    assert per_crop.shape == (2,) and pooled.item() < per_crop.mean().item()


@pytest.mark.parametrize("statistic", STATS)
def test_style_memory_merges_steps_into_the_statistics_of_all_their_crops(specs, statistic):
    obj = make_objective(statistic)
    obj.set_style([specs["rain"]])
    a, b = specs["rain_6s"][None, :, :120], specs["rain_6s"][None, :, 200:320]
    memory = StyleMemory(0.5)
    # first step: nothing remembered, the batch's own pooled loss
    first = obj.style_from_acts(obj.descriptor(a), pooled=True, memory=memory)
    assert first.item() == pytest.approx(obj.style_from_acts(obj.descriptor(a), pooled=True).item(), rel=1e-5)
    assert memory.updates == 1 and memory.batch_weight == 0.5
    # second step, weight 1/2: the statistics of both crops pooled, as if they had come in one batch
    x = b.clone().requires_grad_(True)
    merged = obj.style_from_acts(obj.descriptor(x), pooled=True, memory=memory)
    both = obj.style_from_acts([torch.cat([p, q], -1) for p, q in zip(obj.descriptor(a), obj.descriptor(b))],
                               pooled=True)
    assert merged.item() == pytest.approx(both.item(), rel=1e-4)
    assert merged.item() != pytest.approx(obj.style_from_acts(obj.descriptor(b), pooled=True).item(), rel=1e-3)
    # the gradient reaches this batch only (the remembered statistics carry no graph)
    merged.sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert not any(m.requires_grad for m in memory.means + memory.covs)
    # a third step blends with weight max(1 - memory, 1 / 3)
    assert memory.batch_weight == 0.5 and StyleMemory(0.9).batch_weight == 1.0


def test_style_memory_refuses_bad_settings(specs):
    obj = make_objective()
    obj.set_style([specs["rain"]])
    for bad in (-0.1, 1.0):
        with pytest.raises(ValueError, match="style memory"):
            StyleMemory(bad)
    batch = torch.stack([specs["rain_6s"][:, :100]] * 2)
    with pytest.raises(ValueError, match="pooled"):
        obj.style_from_acts(obj.descriptor(batch), memory=StyleMemory(0.5))
    memory = StyleMemory(0.5)
    obj.style_from_acts(obj.descriptor(batch), pooled=True, memory=memory)
    memory.reset()
    assert memory.updates == 0 and memory.means == [] and memory.batch_weight == 1.0


def test_style_memory_keeps_the_style_gradient_at_full_strength(specs):
    """The merged loss's value is the loss of the merged statistics; its gradient is 1/w times that
    value's own gradient, so the memory does not shrink the style term against other terms."""
    obj = make_objective()
    obj.set_style([specs["rain"]])
    warm = StyleMemory(0.75)
    for _ in range(5):  # the batch weight settles at 1 - memory
        obj.style_from_acts(obj.descriptor(specs["rain_6s"][None, :, :120]), pooled=True, memory=warm)
    assert warm.batch_weight == 0.25

    def merged(y):
        return obj.style_from_acts(obj.descriptor(y), pooled=True, memory=_copy(warm)).sum()

    x = specs["insects"][None, :, :120].clone().requires_grad_(True)
    merged(x).backward()
    step = 0.5 * x.grad / x.grad.norm()
    with torch.no_grad():
        change = (merged(x + step) - merged(x - step)).item()
    assert change == pytest.approx(0.25 * 2 * float((x.grad * step).sum()), rel=0.05)


def _copy(memory: StyleMemory) -> StyleMemory:
    m = StyleMemory(memory.memory)
    m.load({"updates": memory.updates, "means": [t.clone() for t in memory.means],
            "covs": [t.clone() for t in memory.covs]})
    return m


def test_consistency_loss_is_zero_for_a_real_signals_stft_and_sees_cancelling_phases():
    fe = STFTFrontend(FrontendConfig(n_fft=256, hop_length=64))
    wave = torch.randn(2, 8192, generator=torch.Generator().manual_seed(0))
    x = fe.complex_stft(wave)
    assert consistency_loss(x, fe.magnitude(fe.istft(x))).abs().max() < 1e-6
    # every other frame's phase flipped: overlapping frames cancel where they meet
    flipped = x * torch.tensor([1.0, -1.0]).repeat(x.shape[-1] // 2 + 1)[: x.shape[-1]]
    bad = consistency_loss(flipped, fe.magnitude(fe.istft(flipped)))
    assert bad.shape == (2,) and (bad > 0.3).all()
    # magnitudes in place of the complex STFT give the same value
    assert torch.allclose(consistency_loss(flipped.abs(), fe.magnitude(fe.istft(flipped))), bad)
