"""Front ends: shapes, time conversions, differentiability, Griffin-Lim quality, config validation."""
from __future__ import annotations

import pytest
import torch

from texnet.griffin_lim import GriffinLim
from texnet.frontends import CQTFrontend, FrontendConfig, STFTFrontend, build_frontend
from texnet.metrics import spectral_convergence

# librosa warns when the CQT's downsampled octaves get shorter than its FFT; the short test signals here do.
pytestmark = pytest.mark.filterwarnings("ignore:n_fft=.* is too large for input signal:UserWarning")

SR = 22050
CQT_HOP = 128  # the CQT configuration used for the quality checks (default bins need hop % 128 == 0)


@pytest.fixture(scope="module")
def stft():
    return build_frontend(FrontendConfig(n_fft=1024, hop_length=256, scale="log1p"))


@pytest.fixture(scope="module")
def cqt():
    return build_frontend(FrontendConfig(kind="cqt", hop_length=CQT_HOP))


@pytest.fixture(params=["stft", "cqt"])
def fe(request, stft, cqt):
    return {"stft": stft, "cqt": cqt}[request.param]


def noise(*shape: int, seed: int = 0) -> torch.Tensor:
    return 0.1 * torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def round_trip_db(fe, wave: torch.Tensor, n_iter: int, seed: int = 0) -> float:
    """Spectral convergence (dB) of the front end's magnitude of ``wave`` vs that of its reconstruction."""
    wave = wave.unsqueeze(0) if wave.dim() == 1 else wave
    rec = fe.inverse(fe(wave), n_iter=n_iter, seed=seed, length=wave.shape[-1])
    assert rec.shape == wave.shape
    assert torch.isfinite(rec).all()
    return spectral_convergence(fe.magnitude(wave), fe.magnitude(rec)).item()


# ------------------------------------------------------------------------------------- building, types


def test_build_frontend_picks_the_class():
    assert isinstance(build_frontend(FrontendConfig(kind="stft")), STFTFrontend)
    assert isinstance(build_frontend(FrontendConfig(kind="cqt")), CQTFrontend)


def test_describe_round_trips_the_config():
    cfg = FrontendConfig(kind="stft", n_fft=512, hop_length=128, window="hamming")
    fe = build_frontend(cfg)
    assert FrontendConfig(**fe.describe()) == cfg


# ------------------------------------------------------------------------------------- shapes and axes


@pytest.mark.parametrize("n", [4000, 4097, 11025])
def test_output_shape_dtype_and_range(fe, n):
    wave = noise(2, n)
    spec = fe(wave)
    assert spec.shape == (2, fe.n_freq, fe.frames_for_samples(n))
    assert spec.dtype == torch.float32
    assert torch.isfinite(spec).all()
    assert (spec >= 0).all(), "log1p of a magnitude cannot be negative"
    assert spec.max() > 0


def test_one_dimensional_wave_gets_a_batch_axis(fe):
    wave = noise(3000)
    spec = fe(wave)
    assert spec.shape == (1, fe.n_freq, fe.frames_for_samples(3000))
    torch.testing.assert_close(spec, fe(wave.unsqueeze(0)))


def test_batch_items_are_independent(fe):
    a, b = noise(3000, seed=1), noise(3000, seed=2)
    both = fe(torch.stack([a, b]))
    torch.testing.assert_close(both[0], fe(a)[0], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(both[1], fe(b)[0], rtol=1e-4, atol=1e-5)


def test_wrong_waveform_rank_is_refused(fe):
    with pytest.raises(ValueError, match="waveform"):
        fe(torch.zeros(1, 2, 3000))


def test_log_magnitude_is_log1p_of_magnitude(fe):
    wave = noise(1, 3000)
    torch.testing.assert_close(fe(wave), torch.log1p(fe.magnitude(wave)))
    torch.testing.assert_close(fe.to_magnitude(fe(wave)), fe.magnitude(wave), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("scale", ["log1p", "power"])
def test_to_magnitude_clamps_negative_log_values(scale):
    spec = torch.tensor([[-0.5, 0.0, 1.0]])
    mag = STFTFrontend(FrontendConfig(scale=scale)).to_magnitude(spec)
    assert (mag >= 0).all()
    assert mag[0, 0] == 0


def test_power_scale_round_trips_and_is_level_relative():
    fe = STFTFrontend(FrontendConfig(n_fft=256, hop_length=64, scale="power"))
    wave = noise(1, 4000)
    torch.testing.assert_close(fe.to_magnitude(fe(wave)), fe.magnitude(wave), rtol=1e-3, atol=1e-5)
    # white noise at the loader's level sits near log1p(1) = 0.69 on average
    from texnet.audio import TARGET_RMS

    white = torch.randn(1, 22050) * TARGET_RMS
    assert 0.4 < fe(white).mean().item() < 0.9
    with pytest.raises(ValueError, match="scale"):
        build_frontend(FrontendConfig(kind="cqt", scale="power"))


def test_frequencies(fe):
    freqs = fe.frequencies()
    assert freqs.shape == (fe.n_freq,)
    assert (freqs[1:] > freqs[:-1]).all()
    assert freqs[0] >= 0
    assert freqs[-1] <= SR / 2 + 1e-3


def test_stft_frequencies_are_the_fft_bins(stft):
    freqs = stft.frequencies()
    assert stft.n_freq == 1024 // 2 + 1
    assert freqs[0] == 0 and freqs[-1] == pytest.approx(SR / 2)
    torch.testing.assert_close(freqs[1] - freqs[0], torch.tensor(SR / 1024))


def test_cqt_frequencies_are_geometric(cqt):
    c = cqt.config
    freqs = cqt.frequencies().double()
    assert cqt.n_freq == c.n_bins
    assert freqs[0].item() == pytest.approx(c.fmin, rel=1e-4)
    ratios = freqs[1:] / freqs[:-1]
    torch.testing.assert_close(ratios, torch.full_like(ratios, 2 ** (1 / c.bins_per_octave)), rtol=1e-5, atol=0)
    # Mutating the returned tensor must not change the front end.
    cqt.frequencies()[0] = -1
    assert cqt.frequencies()[0] > 0


def test_stft_peak_bin_matches_a_sine(stft):
    t = torch.arange(SR // 2) / SR
    freq = 40 * SR / 1024  # exactly bin 40
    spec = stft(torch.sin(2 * torch.pi * freq * t))
    assert spec[0, :, 5:-5].mean(dim=-1).argmax().item() == 40


def test_cqt_peak_bin_matches_a_sine(cqt):
    freqs = cqt.frequencies()
    k = 120
    t = torch.arange(SR // 2) / SR
    spec = cqt(0.5 * torch.sin(2 * torch.pi * freqs[k] * t))
    assert abs(spec[0, :, 5:-5].mean(dim=-1).argmax().item() - k) <= 1


# --------------------------------------------------------------------------------------- time conversions


@pytest.mark.parametrize("n", [0, 1, 255, 256, 257, 22050, 66150])
def test_samples_frames_conversions(fe, n):
    hop = fe.hop_length
    frames = fe.frames_for_samples(n)
    assert frames == 1 + n // hop
    back = fe.samples_for_frames(frames)
    assert back <= n < back + hop
    assert fe.frames_for_samples(back) == frames


@pytest.mark.parametrize("frames", [1, 2, 10, 259, 1000])
def test_frames_seconds_conversions(fe, frames):
    seconds = fe.seconds_for_frames(frames)
    assert seconds == pytest.approx((frames - 1) * fe.hop_length / fe.sample_rate)
    assert fe.frames_for_seconds(seconds) == frames
    assert fe.samples_for_frames(fe.frames_for_samples(fe.samples_for_frames(frames))) == fe.samples_for_frames(frames)


def test_frame_rate(fe):
    assert fe.frame_rate == pytest.approx(fe.sample_rate / fe.hop_length)


@pytest.mark.parametrize("seconds", [0.01, 1.0, 2.0, 2.3456])
def test_a_synthesis_makes_the_frames_that_cover_the_seconds_asked(fe, seconds):
    """Frames whose inverse holds the whole length, and no more than one hop over it: the audio is cut to it."""
    n = fe.samples_for_seconds(seconds)
    assert n == round(seconds * fe.sample_rate)
    frames = fe.frames_for_seconds(seconds)
    assert fe.samples_for_frames(frames - 1) < n <= fe.samples_for_frames(frames)
    assert frames == fe.frames_to_cover(n)


@pytest.mark.parametrize("n", [1, 100, 256, 257, 1000])
def test_pad_to_hops_covers_a_wave_with_whole_hops(fe, n):
    wave = torch.randn(2, n)
    padded = fe.pad_to_hops(wave)
    assert padded.shape[-1] % fe.hop_length == 0 and n <= padded.shape[-1] < n + fe.hop_length
    assert torch.equal(padded[..., :n], wave)
    assert fe.frames_for_samples(padded.shape[-1]) == fe.frames_to_cover(n)


def test_inverse_default_length_matches_samples_for_frames(stft):
    spec = stft(noise(1, 5000))
    frames = spec.shape[-1]
    assert stft.inverse(spec, n_iter=1).shape == (1, stft.samples_for_frames(frames))
    assert stft.inverse(spec, n_iter=1, length=5000).shape == (1, 5000)
    assert stft.inverse(spec[0], n_iter=1).shape == (1, stft.samples_for_frames(frames))


def test_cqt_inverse_shapes(cqt):
    spec = cqt(noise(2, 4000))
    out = cqt.inverse(spec, n_iter=1)
    assert out.shape == (2, cqt.samples_for_frames(spec.shape[-1]))
    assert out.dtype == torch.float32
    assert cqt.inverse(spec, n_iter=1, length=4000).shape == (2, 4000)


# ----------------------------------------------------------------------------------------- gradients


def test_stft_is_differentiable(stft):
    wave = noise(1, 4000).requires_grad_()
    loss = stft(wave).pow(2).mean()
    loss.backward()
    assert wave.grad is not None
    assert torch.isfinite(wave.grad).all()
    assert wave.grad.abs().sum() > 0


def test_stft_gradient_descent_moves_towards_a_target(stft):
    target = stft(noise(1, 4000, seed=3))
    wave = noise(1, 4000, seed=4).requires_grad_()
    opt = torch.optim.Adam([wave], lr=1e-2)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = (stft(wave) - target).pow(2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_cqt_refuses_a_waveform_that_requires_grad(cqt):
    with pytest.raises(ValueError, match="not differentiable"):
        cqt(noise(1, 4000).requires_grad_())


# ---------------------------------------------------------------------------------- Griffin-Lim quality

# Spectral convergence (dB, lower is better) of magnitude(original) vs magnitude(reconstruction), seed 0,
# measured on the first 3 s (STFT, 64 iterations) / 2 s (CQT hop 128, 32 iterations) of the bundled clips:
#   STFT: rain -21.7, stream -22.8, speech -29.2      CQT: stream -13.6, speech -17.2
# Each floor below leaves about 3 dB of margin.
STFT_FLOORS = {"rain": -18.5, "stream": -19.5, "speech": -26.0}
CQT_FLOORS = {"stream": -10.5, "speech": -14.0}


@pytest.mark.parametrize("name", sorted(STFT_FLOORS))
def test_stft_griffin_lim_round_trip_quality(stft, clip, name):
    assert stft.config.griffin_lim_iters == 64
    db = round_trip_db(stft, clip(name, 3.0), n_iter=None)
    assert db < STFT_FLOORS[name], f"STFT Griffin-Lim on {name}: {db:.2f} dB (floor {STFT_FLOORS[name]} dB)"


@pytest.mark.parametrize("name", sorted(CQT_FLOORS))
def test_cqt_griffin_lim_round_trip_quality(cqt, clip, name):
    db = round_trip_db(cqt, clip(name, 2.0), n_iter=32)
    assert db < CQT_FLOORS[name], f"CQT Griffin-Lim on {name}: {db:.2f} dB (floor {CQT_FLOORS[name]} dB)"


def test_stft_more_iterations_are_not_worse(stft, rain_wave):
    wave = rain_wave[: SR * 2]
    few = round_trip_db(stft, wave, n_iter=4)
    many = round_trip_db(stft, wave, n_iter=32)
    assert many < few - 3.0, f"4 iterations: {few:.2f} dB, 32 iterations: {many:.2f} dB"


def test_stft_inverse_is_seeded(stft, rain_wave):
    spec = stft(rain_wave[: SR].unsqueeze(0))
    a = stft.inverse(spec, n_iter=4, seed=7)
    b = stft.inverse(spec, n_iter=4, seed=7)
    c = stft.inverse(spec, n_iter=4, seed=8)
    assert torch.equal(a, b)
    assert not torch.allclose(a, c, atol=1e-4)


def test_stft_inverse_does_not_touch_the_global_rng(stft, rain_wave):
    spec = stft(rain_wave[: SR // 2].unsqueeze(0))
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    stft.inverse(spec, n_iter=1, seed=0)
    assert torch.equal(torch.rand(3), expected)


def test_cqt_inverse_is_seeded(cqt, rain_wave):
    spec = cqt(rain_wave[: SR // 2].unsqueeze(0))
    a = cqt.inverse(spec, n_iter=2, seed=7)
    b = cqt.inverse(spec, n_iter=2, seed=7)
    c = cqt.inverse(spec, n_iter=2, seed=8)
    assert torch.equal(a, b)
    assert not torch.allclose(a, c, atol=1e-4)


def test_stft_warm_start_from_true_phase_is_near_perfect(stft, rain_wave):
    wave = rain_wave[: SR].unsqueeze(0)
    z = stft.complex_stft(wave)
    phase = z / (z.abs() + 1e-16)
    rec = GriffinLim(stft, n_iter=0)(z.abs(), init_phase=phase, length=wave.shape[-1])
    torch.testing.assert_close(rec, wave, rtol=0, atol=1e-4)


# ------------------------------------------------------------------------------------------ bad configs


def test_cqt_top_bin_above_nyquist():
    with pytest.raises(ValueError, match="Nyquist") as info:
        build_frontend(FrontendConfig(kind="cqt", n_bins=240))
    assert "n_bins <= " in str(info.value)


def test_cqt_above_nyquist_at_a_low_sample_rate():
    # The default 192 bins from C1 reach ~7.9 kHz: fine at 22.05 kHz, too high at 8 kHz.
    with pytest.raises(ValueError, match="Nyquist"):
        build_frontend(FrontendConfig(kind="cqt", sample_rate=8000, hop_length=128))


@pytest.mark.parametrize("hop", [100, 192, 64])
def test_cqt_hop_must_be_a_multiple_of_octave_factor(hop):
    # 192 bins at 24 per octave = 8 octaves -> hop must be a multiple of 2^7 = 128.
    with pytest.raises(ValueError, match="multiple of 2\\^\\(octaves-1\\) = 128"):
        build_frontend(FrontendConfig(kind="cqt", hop_length=hop))


def test_cqt_fewer_octaves_allow_a_smaller_hop():
    fe = build_frontend(FrontendConfig(kind="cqt", hop_length=32, n_bins=120))  # 5 octaves -> multiple of 16
    assert fe.n_freq == 120


@pytest.mark.parametrize(
    "kwargs",
    [
        {"fmin": 0.0},
        {"fmin": -10.0},
        {"n_bins": 0},
        {"bins_per_octave": -24},
        {"bins_per_octave": 0},
        {"fmin": float("nan")},
    ],
)
def test_cqt_bad_bin_layout(kwargs):
    with pytest.raises(ValueError, match="CQT needs a finite fmin > 0"):
        build_frontend(FrontendConfig(kind="cqt", **kwargs))


def test_unknown_kind():
    with pytest.raises(ValueError, match="unknown front end kind 'mel'"):
        build_frontend(FrontendConfig(kind="mel"))


def test_stft_unknown_window():
    with pytest.raises(ValueError, match="window"):
        build_frontend(FrontendConfig(window="kaiser"))


def test_stft_hop_larger_than_n_fft():
    with pytest.raises(ValueError, match="hop_length <= n_fft"):
        build_frontend(FrontendConfig(n_fft=256, hop_length=512))


@pytest.mark.parametrize("kind", ["stft", "cqt"])
def test_bad_hop_and_sample_rate(kind):
    with pytest.raises(ValueError, match="hop_length"):
        build_frontend(FrontendConfig(kind=kind, hop_length=0))
    with pytest.raises(ValueError, match="sample rate"):
        build_frontend(FrontendConfig(kind=kind, sample_rate=100))


def test_inverse_refuses_wrong_bin_count(fe):
    spec = torch.zeros(1, fe.n_freq + 3, 20)
    with pytest.raises(ValueError, match=f"{fe.n_freq + 3} bins.*has {fe.n_freq}"):
        fe.inverse(spec, n_iter=1)


def test_cqt_top_filter_past_nyquist_is_refused_and_the_advised_size_computes():
    # 202 bins from C1 at 24/octave: top centre 10857 Hz < 11025 Hz, but librosa's filter reaches past it.
    import re

    with pytest.raises(ValueError, match="above Nyquist") as err:
        build_frontend(FrontendConfig(kind="cqt", n_bins=202, hop_length=256))
    advised = int(re.search(r"n_bins <= (\d+)", str(err.value)).group(1))
    assert advised < 202
    fe = build_frontend(FrontendConfig(kind="cqt", n_bins=advised, hop_length=256))
    assert fe(noise(1, 4096)).shape[1] == advised
