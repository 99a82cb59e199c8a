"""Audio I/O: loading, mono mixdown, resampling, loudness normalisation, input validation, atomic saving."""
from __future__ import annotations

import math
import os

import numpy as np
import pytest
import soundfile as sf
import torch

import texnet.audio
from texnet.audio import TARGET_RMS, AudioError, load_audio, normalize_rms, save_wav


def rms(x: torch.Tensor) -> float:
    return x.double().pow(2).mean().sqrt().item()


def peak_freq(wave: torch.Tensor, sample_rate: int) -> tuple[float, float]:
    """(frequency of the FFT magnitude's argmax, bin width) in Hz."""
    spec = np.abs(np.fft.rfft(wave.numpy().astype(np.float64)))
    return float(np.argmax(spec)) * sample_rate / wave.numel(), sample_rate / wave.numel()


# --------------------------------------------------------------------------------------------- loading


@pytest.mark.parametrize("sample_rate", [22050, 16000])
def test_load_returns_mono_float32_1d_at_requested_rate(sine_wav, sample_rate):
    path = sine_wav(sample_rate=22050, seconds=0.5)
    wave = load_audio(path, sample_rate=sample_rate)
    assert isinstance(wave, torch.Tensor)
    assert wave.dtype == torch.float32
    assert wave.dim() == 1
    assert abs(wave.numel() - 0.5 * sample_rate) <= 1
    assert torch.isfinite(wave).all()


def test_load_same_rate_without_normalize_is_the_file(sine_wav):
    path = sine_wav(subtype="FLOAT", amplitude=0.3)
    expected, sr = sf.read(str(path), dtype="float32")
    wave = load_audio(path, sample_rate=sr, normalize=False)
    np.testing.assert_array_equal(wave.numpy(), expected)


def test_stereo_is_mixed_to_mono(tmp_path):
    sr = 22050
    t = np.arange(sr // 4) / sr
    left = 0.6 * np.sin(2 * np.pi * 440 * t)
    right = 0.2 * np.sin(2 * np.pi * 1320 * t + 0.3)
    path = tmp_path / "stereo.wav"
    sf.write(str(path), np.stack([left, right], axis=1).astype(np.float32), sr, subtype="FLOAT")
    assert sf.info(str(path)).channels == 2
    wave = load_audio(path, sample_rate=sr, normalize=False)
    assert wave.shape == (sr // 4,)
    np.testing.assert_allclose(wave.numpy(), ((left + right) / 2).astype(np.float32), atol=1e-6)


def test_a_conversion_is_said_in_one_line(sine_wav, caplog):
    """Resampling and mixing down are never silent: one line names the file, what it was and what it becomes
    (warning level with ``verbose``, as training uses it; info level otherwise)."""
    stereo = sine_wav(sample_rate=44100, channels=2)
    with caplog.at_level("INFO", logger="texnet.audio"):
        load_audio(stereo, sample_rate=22050, verbose=True)
        load_audio(sine_wav(name="same.wav", sample_rate=22050), sample_rate=22050, verbose=True)
    lines = [r for r in caplog.records if r.name == "texnet.audio"]
    assert len(lines) == 1 and lines[0].levelname == "WARNING"  # the file at the model's rate: nothing said
    msg = lines[0].getMessage()
    assert msg.startswith(f"{stereo}: 44100 Hz stereo -> 22050 Hz mono (") and "\n" not in msg
    assert "--model.frontend.sample_rate 44100" in msg
    caplog.clear()
    with caplog.at_level("INFO", logger="texnet.audio"):
        load_audio(stereo, sample_rate=44100)
    assert [r.levelname for r in caplog.records] == ["INFO"]
    assert "44100 Hz stereo -> 44100 Hz mono" in caplog.records[0].getMessage()
    # each command names its own option for the rate, or none where the rate is the model's (stylize)
    caplog.clear()
    mono = sine_wav(name="mono44.wav", sample_rate=44100)
    with caplog.at_level("INFO", logger="texnet.audio"):
        load_audio(stereo, sample_rate=22050, verbose=True, rate_option="--sample-rate")
        load_audio(mono, sample_rate=22050, verbose=True, rate_option=None)
    said = [r.getMessage() for r in caplog.records]
    assert "--sample-rate 44100 keeps the file's rate" in said[0] and "--model" not in said[0]
    assert said[1] == f"{mono}: 44100 Hz mono -> 22050 Hz mono"


def test_stereo_cancelling_channels_is_silent(tmp_path):
    sr = 22050
    left = (0.5 * np.sin(2 * np.pi * 440 * np.arange(sr // 4) / sr)).astype(np.float32)
    path = tmp_path / "antiphase.wav"
    sf.write(str(path), np.stack([left, -left], axis=1), sr, subtype="FLOAT")
    with pytest.raises(AudioError, match="silent"):
        load_audio(path, sample_rate=sr)


def test_resampling_keeps_pitch_and_scales_length(sine_wav):
    n_in = 44100  # 1 s at 44.1 kHz
    path = sine_wav(freq=1000.0, sample_rate=44100, seconds=1.0)
    wave = load_audio(path, sample_rate=22050)
    assert abs(wave.numel() - n_in * 22050 / 44100) <= 1
    f, bin_hz = peak_freq(wave, 22050)
    assert abs(f - 1000.0) <= bin_hz, f"1 kHz sine peaks at {f:.1f} Hz after 44.1 -> 22.05 kHz"


def test_upsampling_keeps_pitch_and_scales_length(sine_wav):
    path = sine_wav(freq=1000.0, sample_rate=16000, seconds=0.5)
    wave = load_audio(path, sample_rate=48000)
    assert abs(wave.numel() - 8000 * 3) <= 1
    f, bin_hz = peak_freq(wave, 48000)
    assert abs(f - 1000.0) <= bin_hz


def test_bundled_ogg_clip_loads(rain_wave):
    assert rain_wave.dtype == torch.float32
    assert rain_wave.shape == (3 * 22050,)
    assert torch.isfinite(rain_wave).all()
    # The whole 20 s file was brought to TARGET_RMS; its first 3 s of steady rain are close to it.
    assert 0.5 * TARGET_RMS < rms(rain_wave) < 2 * TARGET_RMS
    assert rain_wave.abs().max() <= 0.99 + 1e-6


def test_bundled_clips_are_22k_and_at_least_5s(data_dir):
    clips = sorted(data_dir.glob("*.ogg"))
    assert len(clips) >= 10
    for path in clips:
        info = sf.info(str(path))
        assert info.samplerate == 22050, path.name
        assert info.frames >= 5 * 22050, path.name


# ------------------------------------------------------------------------------------------ normalising


def test_normalize_sets_target_rms(sine_wav):
    wave = load_audio(sine_wav(amplitude=0.5))
    assert rms(wave) == pytest.approx(TARGET_RMS, rel=1e-3)


def test_normalize_false_keeps_amplitude(sine_wav):
    wave = load_audio(sine_wav(amplitude=0.5, subtype="FLOAT"), normalize=False)
    assert wave.abs().max().item() == pytest.approx(0.5, abs=1e-3)
    assert rms(wave) == pytest.approx(0.5 / math.sqrt(2), rel=1e-3)


def test_normalize_quiet_file_is_brought_up(sine_wav):
    wave = load_audio(sine_wav(amplitude=1e-3, subtype="FLOAT"))
    assert rms(wave) == pytest.approx(TARGET_RMS, rel=1e-3)


def test_normalize_rms_peak_limits_spiky_signals(tmp_path):
    # A sparse click train: reaching the target RMS would need a peak far above 1, so the peak is capped.
    x = np.zeros(22050, np.float32)
    x[::5000] = 0.5
    path = tmp_path / "clicks.wav"
    sf.write(str(path), x, 22050, subtype="FLOAT")
    wave = load_audio(path)
    assert wave.abs().max().item() == pytest.approx(0.99, abs=1e-5)
    assert rms(wave) < TARGET_RMS


def test_normalize_rms_batched_rows_are_independent():
    x = torch.stack([0.01 * torch.randn(4000, generator=torch.Generator().manual_seed(0)),
                     3.0 * torch.randn(4000, generator=torch.Generator().manual_seed(1))])
    out = normalize_rms(x, rms=0.05, peak=1.0)
    assert out.shape == x.shape
    row_rms = out.pow(2).mean(dim=-1).sqrt()
    torch.testing.assert_close(row_rms, torch.full((2,), 0.05), rtol=1e-4, atol=0)


# ------------------------------------------------------------------------------------------- bad inputs


def _assert_one_line_error(err: AudioError, path, *words: str) -> None:
    msg = str(err)
    assert "\n" not in msg and "\r" not in msg, f"multi-line message: {msg!r}"
    assert str(path) in msg, f"path missing from: {msg!r}"
    assert err.path == str(path)
    for word in words:
        assert word.lower() in msg.lower(), f"{word!r} not in {msg!r}"


def test_missing_file(tmp_path):
    path = tmp_path / "nope.wav"
    with pytest.raises(AudioError) as info:
        load_audio(path)
    _assert_one_line_error(info.value, path, "no such file")


def test_directory(tmp_path):
    with pytest.raises(AudioError) as info:
        load_audio(tmp_path)
    _assert_one_line_error(info.value, tmp_path, "directory")


def test_empty_zero_byte_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(AudioError) as info:
        load_audio(path)
    _assert_one_line_error(info.value, path, "empty")


@pytest.mark.filterwarnings("ignore")  # librosa's audioread fallback warns before it fails too
def test_text_file_named_wav(tmp_path):
    path = tmp_path / "x.wav"
    path.write_text("this is not audio\nsecond line\n")
    with pytest.raises(AudioError) as info:
        load_audio(path)
    _assert_one_line_error(info.value, path, "not a readable audio file")


def test_silent_file(tmp_path):
    path = tmp_path / "silent.wav"
    sf.write(str(path), np.zeros(4000, np.float32), 22050)
    with pytest.raises(AudioError) as info:
        load_audio(path)
    _assert_one_line_error(info.value, path, "silent")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples(tmp_path, bad):
    x = (0.1 * np.sin(np.arange(4000) / 5)).astype(np.float32)
    x[1234] = bad
    path = tmp_path / "nonfinite.wav"
    sf.write(str(path), x, 22050, subtype="FLOAT")
    assert sf.info(str(path)).subtype == "FLOAT"
    with pytest.raises(AudioError) as info:
        load_audio(path)
    _assert_one_line_error(info.value, path, "nan")


def test_zero_length_wav_with_valid_header(tmp_path):
    path = tmp_path / "zero.wav"
    sf.write(str(path), np.zeros(0, np.float32), 22050)
    assert path.stat().st_size > 0 and sf.info(str(path)).frames == 0
    with pytest.raises(AudioError) as info:
        load_audio(path)
    _assert_one_line_error(info.value, path, "no samples")


def test_too_short_says_seconds_needed(sine_wav):
    path = sine_wav(seconds=0.1)  # 2205 samples
    with pytest.raises(AudioError) as info:
        load_audio(path, min_samples=22050)
    _assert_one_line_error(info.value, path, "too short", "1.000 s", "22050 samples")


def test_min_samples_is_counted_after_resampling(sine_wav):
    path = sine_wav(sample_rate=44100, seconds=1.0)  # 44100 samples in the file, 22050 after resampling
    with pytest.raises(AudioError, match="too short"):
        load_audio(path, sample_rate=22050, min_samples=30000)
    assert load_audio(path, sample_rate=22050, min_samples=22050).numel() == 22050


def test_min_samples_exactly_met_is_accepted(sine_wav):
    assert load_audio(sine_wav(seconds=0.1), min_samples=2205).numel() == 2205


def test_file_with_absurd_sample_rate(tmp_path):
    path = tmp_path / "lowrate.wav"
    sf.write(str(path), (0.1 * np.sin(np.arange(1000) / 3)).astype(np.float32), 500)
    with pytest.raises(AudioError) as info:
        load_audio(path)
    _assert_one_line_error(info.value, path, "sample rate", "500")


@pytest.mark.parametrize("rate", [0, -22050, 10, 10_000_000, 22050.5])
def test_absurd_requested_sample_rate(sine_wav, rate):
    path = sine_wav()
    with pytest.raises(ValueError, match="sample rate") as info:
        load_audio(path, sample_rate=rate)
    assert "\n" not in str(info.value)


def test_audio_error_is_a_value_error():
    err = AudioError("/some/file.wav", "broken")
    assert isinstance(err, ValueError)
    assert str(err) == "/some/file.wav: broken"
    assert err.problem == "broken"


# ---------------------------------------------------------------------------------------------- saving


def _test_signal(n: int = 5000) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return (0.4 * torch.rand(n, generator=g) - 0.2) + 0.3 * torch.sin(torch.arange(n) / 7.0)


def test_save_round_trip_pcm16(tmp_path):
    x = _test_signal()
    path = save_wav(tmp_path / "out.wav", x, 22050)
    assert path == tmp_path / "out.wav"
    info = sf.info(str(path))
    assert (info.samplerate, info.channels, info.subtype, info.frames) == (22050, 1, "PCM_16", x.numel())
    y = load_audio(path, sample_rate=22050, normalize=False)
    np.testing.assert_allclose(y.numpy(), x.numpy(), atol=1.0 / 32768 + 1e-7)


def test_save_round_trip_float(tmp_path):
    x = _test_signal() * 3.0  # FLOAT keeps values beyond [-1, 1]
    path = save_wav(tmp_path / "out.wav", x, 16000, subtype="FLOAT")
    assert sf.info(str(path)).subtype == "FLOAT"
    y = load_audio(path, sample_rate=16000, normalize=False)
    np.testing.assert_allclose(y.numpy(), x.numpy(), rtol=0, atol=1e-7)


def test_save_accepts_numpy_and_batch_of_one(tmp_path):
    x = _test_signal(1000)
    save_wav(tmp_path / "a.wav", x.numpy(), 22050, subtype="FLOAT")
    save_wav(tmp_path / "b.wav", x.unsqueeze(0).requires_grad_(), 22050, subtype="FLOAT")
    a, _ = sf.read(str(tmp_path / "a.wav"), dtype="float32")
    b, _ = sf.read(str(tmp_path / "b.wav"), dtype="float32")
    np.testing.assert_array_equal(a, x.numpy())
    np.testing.assert_array_equal(b, x.numpy())


def test_save_pcm16_clips_out_of_range(tmp_path):
    x = torch.tensor([0.0, 2.0, -3.0, 0.5])
    path = save_wav(tmp_path / "clip.wav", x, 22050)
    y, _ = sf.read(str(path), dtype="float32")
    assert y.max() <= 1.0 and y.min() >= -1.0
    assert y[1] == pytest.approx(1.0, abs=1e-4) and y[2] == pytest.approx(-1.0, abs=1e-4)


def test_save_creates_parent_directories(tmp_path):
    path = save_wav(tmp_path / "a" / "b" / "out.wav", _test_signal(100), 22050)
    assert path.is_file()


def test_save_refuses_to_overwrite(tmp_path):
    path = tmp_path / "out.wav"
    save_wav(path, _test_signal(), 22050, subtype="FLOAT")
    before = path.read_bytes()
    with pytest.raises(AudioError) as info:
        save_wav(path, torch.zeros(10), 22050)
    _assert_one_line_error(info.value, path, "already exists", "overwrite")
    assert path.read_bytes() == before


def test_save_overwrite_replaces(tmp_path):
    path = tmp_path / "out.wav"
    save_wav(path, _test_signal(), 22050)
    new = torch.full((321,), 0.25)
    save_wav(path, new, 22050, subtype="FLOAT", overwrite=True)
    y, _ = sf.read(str(path), dtype="float32")
    np.testing.assert_array_equal(y, new.numpy())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.wav"]


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_save_refuses_non_finite(tmp_path, bad):
    x = _test_signal(100)
    x[50] = bad
    path = tmp_path / "out.wav"
    with pytest.raises(AudioError) as info:
        save_wav(path, x, 22050, subtype="FLOAT")
    _assert_one_line_error(info.value, path, "nan")
    assert list(tmp_path.iterdir()) == []


def test_save_rejects_multichannel_bad_subtype_and_bad_rate(tmp_path):
    with pytest.raises(ValueError, match="mono"):
        save_wav(tmp_path / "a.wav", torch.zeros(2, 100), 22050)
    with pytest.raises(ValueError, match="subtype"):
        save_wav(tmp_path / "b.wav", torch.zeros(100), 22050, subtype="PCM_24")
    with pytest.raises(ValueError, match="sample rate"):
        save_wav(tmp_path / "c.wav", torch.zeros(100), 50)
    assert list(tmp_path.iterdir()) == []


def test_save_into_a_directory_path_is_refused(tmp_path):
    target = tmp_path / "adir"
    target.mkdir()
    with pytest.raises(AudioError):
        save_wav(target, torch.zeros(10), 22050)
    with pytest.raises(AudioError, match="directory"):
        save_wav(target, torch.zeros(10), 22050, overwrite=True)
    assert target.is_dir() and list(target.iterdir()) == []


def _partial_writer(exc: BaseException):
    """A stand-in for ``soundfile.write`` that writes a truncated file, then fails."""

    def fake_write(file, data, samplerate, *args, **kwargs):
        if hasattr(file, "write"):  # save_wav encodes in memory, then writes the temporary file
            file.write(b"RIFF\x00\x10\x00\x00WAVEfmt ")
            raise exc
        with open(file, "wb") as fh:
            fh.write(b"RIFF\x00\x10\x00\x00WAVEfmt ")  # a header's first bytes and nothing else
            fh.flush()
        raise exc

    return fake_write


@pytest.mark.parametrize("exc", [OSError("No space left on device"), KeyboardInterrupt()])
def test_save_is_atomic_when_writing_fails(tmp_path, monkeypatch, exc):
    monkeypatch.setattr(texnet.audio.sf, "write", _partial_writer(exc))
    path = tmp_path / "out.wav"
    with pytest.raises(type(exc)):
        save_wav(path, _test_signal(), 22050)
    assert list(tmp_path.iterdir()) == [], "a partial target or temporary file was left behind"


def test_save_failed_overwrite_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "out.wav"
    save_wav(path, _test_signal(), 22050)
    before = path.read_bytes()
    monkeypatch.setattr(texnet.audio.sf, "write", _partial_writer(OSError("disk full")))
    with pytest.raises(OSError):
        save_wav(path, torch.zeros(100), 22050, overwrite=True)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.wav"]


def test_saved_file_permissions_follow_umask(tmp_path):
    old = os.umask(0o022)
    try:
        path = save_wav(tmp_path / "out.wav", _test_signal(100), 22050)
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644
