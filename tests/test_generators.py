"""Generators: exact length/receptive-field arithmetic, position-indexed noise, gradients, style mode."""
import pytest
import torch

from texnet.generators import GeneratorConfig, StyleGenerator, TextureGenerator, build_generator, make_noise

TINY = GeneratorConfig(channels=8, dilations=[1, 2, 4], noise_channels=3, noise_scales=3, scale_factor=2)


def test_receptive_field_formula():
    g = TextureGenerator(10, TINY)
    assert g.receptive_field == 1 + 2 * (1 + 2 + 4)
    g5 = TextureGenerator(10, GeneratorConfig(channels=4, kernel_size=5, dilations=[1, 3], noise_channels=1))
    assert g5.receptive_field == 1 + 4 * 4


@pytest.mark.parametrize("frames", [1, 2, 7, 64, 129, 1000])
def test_output_length_follows_requested_frames(frames):
    g = TextureGenerator(12, TINY)
    noise = g.make_noise(frames, [0, 1])
    assert noise.shape == (2, TINY.noise_channels * TINY.noise_scales, frames + g.receptive_field - 1)
    out = g(noise)
    assert out.shape == (2, 12, frames)
    assert (out >= 0).all()


def test_receptive_field_is_exact_empirically():
    torch.manual_seed(0)
    g = TextureGenerator(6, TINY).eval()
    noise = torch.randn(1, g.noise_dim, 60)
    base = g(noise)
    poke = noise.clone()
    poke[..., 30] += 5.0
    changed = (g(poke) - base).abs().sum(1)[0] > 0
    idx = changed.nonzero().flatten()
    # output frame t sees noise frames t .. t + rf - 1
    assert idx.min().item() == 30 - g.receptive_field + 1 and idx.max().item() == 30
    assert len(idx) == g.receptive_field


def test_noise_is_position_indexed_and_seeded():
    full = make_noise([5], 0, 3000, 2, 3, 4)
    window = make_noise([5], 1234, 500, 2, 3, 4)
    assert torch.equal(full[..., 1234:1734], window)
    other = make_noise([6], 0, 3000, 2, 3, 4)
    assert not torch.allclose(full, other)
    # every scale has roughly unit variance
    for s in range(3):
        v = full[0, 2 * s: 2 * s + 2].var().item()
        assert 0.5 < v < 1.6, (s, v)
    with pytest.raises(ValueError):
        make_noise([0], -1, 10, 1, 1, 2)
    with pytest.raises(ValueError, match="seeds"):
        make_noise([2**63], 0, 10, 1, 1, 2)


def test_noise_is_made_on_the_generators_device():
    g = TextureGenerator(8, TINY).to(torch.device("meta"))
    assert g.make_noise(5, [1]).device.type == "meta"


def test_generate_window_equals_slice_of_longer_generation():
    g = TextureGenerator(8, TINY).eval()
    long = g.generate(300, seed=3)
    part = g.generate(50, seed=3, start=120)
    assert torch.allclose(long[:, 120:170], part, atol=1e-5)
    assert not torch.allclose(g.generate(50, seed=4, start=120), part)


def test_gradients_reach_every_parameter():
    g = TextureGenerator(8, TINY)
    g(g.make_noise(20, [0, 1])).mean().backward()
    for name, p in g.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_output_bias_sets_the_starting_spectrum():
    g = TextureGenerator(5, TINY)
    with torch.no_grad():
        g.body.out.weight.zero_()
    mean = torch.tensor([0.1, 0.5, 1.0, 2.0, 3.0])
    g.set_output_bias(mean)
    out = g.generate(10)
    assert torch.allclose(out.mean(1), mean, atol=1e-4)


def test_style_generator_keeps_content_length():
    g = StyleGenerator(9, GeneratorConfig(kind="style", channels=8, dilations=[1, 2], noise_channels=2))
    for frames in (3, 10, 57):
        content = torch.rand(2, 9, frames)
        assert g(content).shape == (2, 9, frames)
    with pytest.raises(ValueError, match="expected content"):
        g(torch.rand(1, 8, 10))


def test_bad_configs_and_inputs():
    with pytest.raises(ValueError, match="odd"):
        TextureGenerator(4, GeneratorConfig(kernel_size=4))
    with pytest.raises(ValueError, match="unknown generator kind"):
        build_generator(4, GeneratorConfig(kind="gan"))
    g = TextureGenerator(4, TINY)
    with pytest.raises(ValueError, match="shorter than the receptive field"):
        g(torch.randn(1, g.noise_dim, g.receptive_field - 1))
    with pytest.raises(ValueError, match="expected noise"):
        g(torch.randn(1, g.noise_dim + 1, 40))


def test_waveform_generator_emits_complex_frames_that_train_through_the_stft():
    from texnet.frontends import FrontendConfig, STFTFrontend
    from texnet.generators import WaveformGenerator

    fe = STFTFrontend(FrontendConfig(n_fft=128, hop_length=32))
    g = WaveformGenerator(fe.n_freq, GeneratorConfig(kind="waveform", channels=8, dilations=[1, 2],
                                                     noise_channels=2, noise_scales=2))
    g.set_output_bias(torch.full((fe.n_freq,), 0.5))
    stft = g(g.make_noise(40, [0, 1]))
    assert stft.is_complex() and stft.shape == (2, fe.n_freq, 40)
    wave = fe.istft(stft)
    assert wave.shape == (2, fe.samples_for_frames(40))
    spec = fe(wave)
    assert spec.shape == (2, fe.n_freq, 40)
    spec.mean().backward()
    for name, p in g.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert isinstance(build_generator(fe.n_freq, GeneratorConfig(kind="waveform")), WaveformGenerator)


def test_waveform_output_bias_sets_the_starting_magnitudes():
    """The last layer emits log-magnitudes: quiet bins far below the loud ones start exactly at their level."""
    from texnet.generators import WaveformGenerator

    g = WaveformGenerator(5, GeneratorConfig(kind="waveform", channels=8, dilations=[1, 2], noise_channels=2,
                                             noise_scales=2, center=False))
    with torch.no_grad():
        g.body.out.weight.zero_()
    mean = torch.tensor([1e-5, 1e-3, 0.5, 2.0, 30.0])
    g.set_output_bias(mean)
    assert torch.allclose(g.generate(10).abs().mean(1), mean, rtol=1e-4)


def test_mean_frame_centring_emits_zero_mean_frames_and_tracks_the_mean():
    """A constant output (weights zeroed, random bias) is all mean: uncentred it is a steady tone in every
    fourth bin; centred, training's frames average to zero per bin over batch and time, the running mean
    follows the batch's, and in eval the running mean is what is removed (so a stream stays the same)."""
    from texnet.generators import CENTER_MOMENTUM, WaveformGenerator

    g = WaveformGenerator(9, GeneratorConfig(kind="waveform", channels=8, dilations=[1, 2], noise_channels=2,
                                             noise_scales=2, center=True, center_window=0))
    with torch.no_grad():
        g.body.out.weight.mul_(0.1)
        g.body.out.bias.normal_(generator=torch.Generator().manual_seed(0))
    noise = g.make_noise(30, [0, 1])
    g.train()
    out = g(noise)
    assert out.mean((0, 2)).abs().max() < 1e-5 * out.abs().mean()
    out.abs().square().mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in g.parameters())
    raw_mean = torch.complex(*g.mean_frame) / CENTER_MOMENTUM  # one step from zero
    assert raw_mean.abs().max() > 0.1 * out.abs().mean()  # there was a mean to remove
    with torch.no_grad():
        for _ in range(300):
            g(noise)
        g.eval()
        assert torch.allclose(torch.complex(*g.mean_frame), raw_mean, rtol=1e-3, atol=1e-6)
        evald = g(noise)
        assert evald.mean((0, 2)).abs().max() < 1e-3 * evald.abs().mean()
        # eval removes a fixed frame: a window of a longer generation is that generation's slice
        long, part = g.generate(40, seed=3), g.generate(10, seed=3, start=20)
        assert torch.allclose(long[:, 20:30], part, atol=1e-5)
    state = g.state_dict()
    assert "mean_frame" in state
    g2 = WaveformGenerator(9, g.config)
    g2.load_state_dict(state)
    assert torch.equal(g2.mean_frame, g.mean_frame)


def test_local_mean_is_the_centred_moving_average():
    """Every frame less the mean of the window centred on it, for lengths on and off the block grid."""
    from texnet.generators import subtract_local_mean

    gen = torch.Generator().manual_seed(0)
    for t, w in [(3, 3), (64, 5), (65, 65), (66, 65), (130, 65), (200, 65)]:
        re, im = (torch.randn(2, 4, t, dtype=torch.float64, generator=gen) for _ in range(2))
        a, b = subtract_local_mean(re, im, w)
        h = w // 2
        torch.testing.assert_close(a, re[..., h: t - h] - re.unfold(-1, w, 1).mean(-1), rtol=0, atol=1e-12)
        torch.testing.assert_close(b, im[..., h: t - h] - im.unfold(-1, w, 1).mean(-1), rtol=0, atol=1e-12)


def test_local_centring_removes_slow_parts_the_same_in_training_and_eval():
    """The default centring: a constant output (weights zeroed) is removed entirely, a bin's frames that turn
    every frame are kept; training and eval compute the same (no running statistic), a window of a longer
    generation is that generation's slice, and the window counts in the receptive field."""
    from texnet.generators import WaveformGenerator

    cfg = GeneratorConfig(kind="waveform", channels=8, dilations=[1, 2], noise_channels=2, noise_scales=2)
    assert cfg.center and cfg.center_window == 33
    g = WaveformGenerator(9, cfg)
    assert g.receptive_field == g.body.receptive_field + 32 and "mean_frame" not in g.state_dict()
    noise = g.make_noise(30, [0, 1])
    g.train()
    out = g(noise)
    assert out.shape == (2, 9, 30)
    out.abs().square().mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in g.parameters())
    with torch.no_grad():
        torch.testing.assert_close(g.eval()(noise), out.detach())
        long, part = g.generate(120, seed=3), g.generate(10, seed=3, start=50)
        torch.testing.assert_close(long[:, 50:60], part, rtol=0, atol=1e-5)
        g.body.out.weight.zero_()
        g.body.out.bias.normal_(generator=torch.Generator().manual_seed(0))
        steady = g.generate(40)
        assert steady.abs().max() < 1e-5 * g.body.out.bias[:9].exp().mean()
    with pytest.raises(ValueError, match="center_window"):
        WaveformGenerator(9, GeneratorConfig(kind="waveform", center_window=4))


def test_center_only_touches_the_waveform_generators_complex_frames():
    texture = build_generator(9, GeneratorConfig(kind="texture", channels=8, dilations=[1], center=True))
    assert "mean_frame" not in texture.state_dict()


def test_initial_weights_come_from_the_configs_seed():
    """Whatever was drawn from the global RNG before, a config builds the same generator; another seed another."""
    cfg = GeneratorConfig(kind="texture", channels=8, dilations=[1, 2], seed=3)
    torch.manual_seed(0)
    a = build_generator(9, cfg)
    torch.rand(1000)
    b = build_generator(9, cfg)
    c = build_generator(9, GeneratorConfig(kind="texture", channels=8, dilations=[1, 2], seed=4))
    for (name, p), q, r in zip(a.named_parameters(), b.parameters(), c.parameters()):
        assert torch.equal(p, q), name
    assert not all(torch.equal(p, r) for p, r in zip(a.parameters(), c.parameters()))


def test_waveform_style_generator_passes_each_bins_content_level_in_its_own_frame():
    """With the trunk's output silenced, the phase-free style generator's magnitudes are the content's levels
    times the learnt gain, frame by frame (the skip path is aligned with the content), for any content length;
    the gain is learnt (it gets a gradient) and the output keeps the content's frame count."""
    from texnet.generators import WaveformStyleGenerator

    cfg = GeneratorConfig(kind="waveform_style", channels=8, dilations=[1, 2, 4], noise_channels=2, center=False)
    g = build_generator(9, cfg)
    assert isinstance(g, WaveformStyleGenerator)
    with torch.no_grad():
        g.body.out.weight.zero_()
        g.body.out.bias.zero_()
        g.body.out.bias[9:].fill_(1.0)  # a phase direction to normalise
        g.content_gain.fill_(0.5)
    for frames in (40, 7):
        content = torch.rand(2, 9, frames, generator=torch.Generator().manual_seed(frames)) * 3
        out = g(content)
        assert out.shape == (2, 9, frames) and out.is_complex()
        torch.testing.assert_close(out.abs(), torch.exp(0.5 * content), rtol=1e-5, atol=1e-6)
    g(torch.rand(1, 9, 30)).abs().mean().backward()
    assert g.content_gain.grad is not None and g.content_gain.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="center_window"):  # no running mean frame: a local window or none
        build_generator(9, GeneratorConfig(kind="waveform_style", center_window=0))
