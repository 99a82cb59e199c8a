"""Streaming synthesis: chunked generation equals one pass, block-wise inversion is seam-free and as good
as whole-signal Griffin-Lim, ``synthesize.py stream`` writes valid files / raw PCM and ends cleanly on
Ctrl-C. Memory boundedness is measured in bench/bench_streaming.py, not here."""
from __future__ import annotations

import itertools
import math
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import soundfile as sf
import torch

from texnet import streaming as S
from texnet.descriptors import DescriptorConfig
from texnet.frontends import CQTFrontend, FrontendConfig, STFTFrontend
from texnet.generators import GeneratorConfig, TextureGenerator, WaveformGenerator
from texnet.griffin_lim import GriffinLim, random_phase
from texnet.inference import load_generator
from texnet.synthesizer import Synthesizer
from texnet.metrics import spectral_convergence

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def tiny_ckpt(tiny_checkpoint) -> Path:
    """configs/tiny.yaml (n_fft 256, hop 64) trained for its few steps in-process: a real checkpoint."""
    return tiny_checkpoint("texture")


@pytest.fixture(scope="session")
def tiny_gen(tiny_ckpt) -> Synthesizer:
    return load_generator(tiny_ckpt)


def _boundaries(blocks) -> list[int]:
    return torch.tensor([b.numel() for b in blocks]).cumsum(0)[:-1].tolist()


def _tone_spec(fe: STFTFrontend, seconds: float = 3.0) -> torch.Tensor:
    """Log-magnitude of four vibrato partials: any phase jump between blocks would show as a click."""
    sr = fe.sample_rate
    t = torch.arange(int(seconds * sr)) / sr
    wave = sum(0.1 * torch.sin(2 * math.pi * (f * t + 3 * torch.sin(2 * math.pi * 0.5 * t))) for f in (220, 330, 550, 880))
    return fe(wave)[0]


# ---------------------------------------------------------------------------------------------- generation


@pytest.mark.parametrize("chunk", [1, 7, 64, 1000])
@pytest.mark.parametrize("start", [0, 5, 1500])
def test_chunked_generation_equals_one_pass(chunk, start):
    torch.manual_seed(0)
    gen = TextureGenerator(33, GeneratorConfig(channels=8, dilations=[1, 2, 4], noise_channels=2, noise_scales=3)).eval()
    total = 300  # far into the stream too: the noise is a function of the absolute position
    one = gen.generate(total, seed=4, start=start)
    chunks = list(S.generate_chunks(gen, total, seed=4, start=start, chunk_frames=chunk))
    assert all(c.shape[0] == 33 and c.shape[1] <= chunk for c in chunks)
    cat = torch.cat(chunks, dim=-1)
    assert cat.shape == one.shape
    torch.testing.assert_close(cat, one, atol=1e-5, rtol=1e-5)


def test_endless_generation_continues_the_same_texture():
    torch.manual_seed(1)
    gen = TextureGenerator(17, GeneratorConfig(channels=8, dilations=[1, 2], noise_channels=2, noise_scales=2)).eval()
    first = list(itertools.islice(S.generate_chunks(gen, None, seed=9, chunk_frames=50), 5))
    torch.testing.assert_close(torch.cat(first, -1), gen.generate(250, seed=9), atol=1e-5, rtol=1e-5)


# ---------------------------------------------------------------------------------------------- inversion


def test_fast_istft_matches_the_front_end():
    for hop in (64, 96):  # 96 does not divide 256: the torch.istft fallback
        fe = STFTFrontend(FrontendConfig(n_fft=256, hop_length=hop))
        spec = torch.randn(129, 40, dtype=torch.complex64)
        n = fe.samples_for_frames(40)
        torch.testing.assert_close(S._STFT(fe).istft(spec, n), fe.istft(spec[None], n)[0], atol=1e-6, rtol=1e-5)


def test_pghi_alone_recovers_a_tonal_signal():
    fe = STFTFrontend(FrontendConfig(n_fft=1024, hop_length=256))
    mag = fe.to_magnitude(_tone_spec(fe, 2.0))
    ph = torch.from_numpy(S.pghi_phase(torch.log(mag.clamp_min(mag.max() * 1e-5)), fe)).float()
    wave = fe.istft((mag * torch.polar(torch.ones_like(ph), ph))[None])
    rand = fe.istft((mag * random_phase(mag.shape, 0))[None])
    sc_pghi = spectral_convergence(mag, fe.magnitude(wave)[0]).item()
    sc_rand = spectral_convergence(mag, fe.magnitude(rand)[0]).item()
    assert sc_pghi < -15 and sc_rand > -8, (sc_pghi, sc_rand)


def test_streamed_inversion_matches_whole_signal_griffin_lim(tiny_frontend, tiny_spec):
    fe, spec = tiny_frontend, tiny_spec("rain", 0.0, 3.0)
    mag = fe.to_magnitude(spec)
    n = fe.samples_for_frames(spec.shape[1])
    whole = GriffinLim(fe, 8, fe.config.momentum)(mag[None], seed=0)[0]
    sc_whole = spectral_convergence(mag, fe.magnitude(whole[None])[0]).item()
    y = torch.cat(list(S.invert_stream(fe, spec.split(100, dim=1), n_iter=8, block_frames=69)))
    assert y.shape == (n,) and y.dtype == torch.float32
    sc = spectral_convergence(mag, fe.magnitude(y[None])[0]).item()
    # same iterations: the streamed blocks, started from PGHI, beat whole-signal GL from random phase
    assert sc < sc_whole - 1.0, (sc, sc_whole)


def test_stream_output_does_not_depend_on_how_the_input_is_chunked(tiny_frontend, tiny_spec):
    spec = tiny_spec("rain", 0.0, 1.5)
    a = torch.cat(list(S.invert_stream(tiny_frontend, [spec], n_iter=3, block_frames=50)))
    b = torch.cat(list(S.invert_stream(tiny_frontend, spec.split(7, dim=1), n_iter=3, block_frames=50)))
    assert torch.equal(a, b)


def test_blocks_join_without_seams_on_a_tone_where_a_naive_join_clicks():
    fe = STFTFrontend(FrontendConfig(n_fft=1024, hop_length=256))
    spec = _tone_spec(fe, 4.0)
    bf = 43  # 0.5 s blocks
    blocks = list(S.invert_stream(fe, [spec], n_iter=8, block_frames=bf))
    streamed = S.seam_flux_ratio(torch.cat(blocks), _boundaries(blocks))
    naive = [fe.inverse(spec[:, i: i + bf + 1][None], n_iter=8, seed=i)[0] for i in range(0, spec.shape[1] - 1, bf)]
    naive_ratio = S.seam_flux_ratio(torch.cat(naive), _boundaries(naive))
    assert streamed < 1.15, streamed
    assert naive_ratio > 3.0, naive_ratio  # the measure does see seams where there are some


def test_waveform_generator_streams_exactly_its_one_pass_istft():
    """A phase-free generator streams through texnet.realtime (cached convolution state, streaming
    overlap-add): the blocks are the samples of one ISTFT of all frames up to float rounding."""
    torch.manual_seed(2)
    fe = STFTFrontend(FrontendConfig(n_fft=256, hop_length=64))
    gen = WaveformGenerator(fe.n_freq, GeneratorConfig(kind="waveform", channels=8, dilations=[1, 2],
                                                       noise_channels=2, noise_scales=2)).eval()
    loaded = Synthesizer(gen, fe, DescriptorConfig(), {})
    n = round(1.3 * fe.sample_rate)
    blocks = list(S.stream_waveform(loaded, 1.3, seed=2, block_seconds=0.2, chunk_frames=37))
    assert sum(b.numel() for b in blocks) == n
    ref = fe.istft(gen.generate(n // 64 + 8, seed=2)[None])[0][:n]
    torch.testing.assert_close(torch.cat(blocks), ref, atol=1e-5, rtol=1e-4)


# ---------------------------------------------------------------------------------------------- Python API


def test_stream_waveform_blocks_concatenate_to_the_requested_length(tiny_gen):
    sr = tiny_gen.sample_rate
    for seconds, block in [(1.234, 0.3), (0.05, 1.0), (2.0, 0.25)]:
        blocks = list(S.stream_waveform(tiny_gen, seconds, seed=1, block_seconds=block, n_iter=4))
        assert all(b.dim() == 1 and b.dtype == torch.float32 for b in blocks)
        assert sum(b.numel() for b in blocks) == round(seconds * sr)
        assert torch.isfinite(torch.cat(blocks)).all()


def test_stream_waveform_no_seam_on_the_texture(tiny_gen):
    blocks = list(S.stream_waveform(tiny_gen, 4.0, seed=2, block_seconds=0.25, n_iter=8))
    ratio = S.seam_flux_ratio(torch.cat(blocks), _boundaries(blocks))
    assert ratio < 1.15, ratio  # a seam raises it; frames next to a seam got more iterations: often < 1


def test_endless_stream_prefix_equals_a_finite_stream(tiny_gen):
    endless = list(itertools.islice(S.stream_waveform(tiny_gen, 0, seed=3, block_seconds=0.2, n_iter=4), 6))
    finite = list(S.stream_waveform(tiny_gen, 3.0, seed=3, block_seconds=0.2, n_iter=4))
    for a, b in zip(endless, finite[:6]):
        assert torch.equal(a, b)
    other_seed = next(S.stream_waveform(tiny_gen, 0, seed=4, block_seconds=0.2, n_iter=4))
    assert not torch.allclose(other_seed, endless[0])


def test_cqt_checkpoint_and_bad_arguments_raise_value_error(tiny_gen):
    cqt = CQTFrontend(FrontendConfig(kind="cqt", n_bins=24, hop_length=256))
    loaded = Synthesizer(TextureGenerator(cqt.n_freq, GeneratorConfig(channels=4, dilations=[1])), cqt,
                             DescriptorConfig(), {})
    with pytest.raises(ValueError, match="STFT front end"):
        S.stream_waveform(loaded, 1.0)
    for kwargs in ({"seconds": -1.0}, {"block_seconds": 0.0}, {"n_iter": -2}, {"seconds": float("nan")}):
        with pytest.raises(ValueError):
            S.stream_waveform(tiny_gen, **{"seconds": 1.0, **kwargs})


# ---------------------------------------------------------------------------------------------- CLI


def _stream_cmd(ckpt, out, *extra):
    return [sys.executable, "synthesize.py", "stream", "--ckpt", str(ckpt), "--out", str(out), *extra]


@pytest.fixture(scope="module")
def cli_runs(tiny_ckpt, tmp_path_factory):
    """Two subprocesses at once (each spends seconds importing): raw PCM to stdout, and an endless stream
    to a WAV interrupted with SIGINT once it has been writing for about 2 s."""
    d = tmp_path_factory.mktemp("stream_cli")
    endless = d / "endless.wav"
    procs = {
        "stdout": subprocess.Popen(_stream_cmd(tiny_ckpt, "-", "--seconds", "1.0", "--seed", "3"),
                                   cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE),
        "sigint": subprocess.Popen(_stream_cmd(tiny_ckpt, endless, "--seconds", "0", "--block-seconds", "0.25"),
                                   cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE),
    }
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and procs["sigint"].poll() is None:
        if endless.exists() and endless.stat().st_size > 44:
            break
        time.sleep(0.05)
    time.sleep(2.0)
    procs["sigint"].send_signal(signal.SIGINT)
    results = {}
    for name, p in procs.items():
        out, err = p.communicate(timeout=120)
        results[name] = (p.returncode, out, err.decode(errors="replace"))
    return d, results


def test_cli_stream_raw_pcm_to_stdout(cli_runs):
    _, res = cli_runs
    rc, out, err = res["stdout"]
    assert rc == 0, err[-2000:]
    assert len(out) == 2 * 22050  # nothing but 16-bit samples on stdout
    assert "wrote 22050 samples" in err


def test_cli_stream_endless_to_a_file_ends_cleanly_on_sigint(cli_runs):
    d, res = cli_runs
    rc, out, err = res["sigint"]
    assert rc == 0, err[-2000:]
    assert b"stopped by SIGINT" in out
    info = sf.info(str(d / "endless.wav"))
    data, sr = sf.read(str(d / "endless.wav"))
    assert sr == 22050 and info.subtype == "PCM_16" and data.shape[0] == info.frames > 0
    assert data.shape[0] >= 0.25 * sr  # at least one whole block made it to disk


def test_cli_stream_fixed_length_file(tiny_ckpt, tmp_path, capsys):
    from texnet.cli import main

    out = tmp_path / "a.wav"
    argv = ["stream", "--ckpt", str(tiny_ckpt), "--out", str(out), "--seconds", "1.5", "--block-seconds", "0.4",
            "--griffin-lim-iters", "4"]
    assert main(argv) == 0
    info = sf.info(str(out))
    assert info.samplerate == 22050 and info.channels == 1 and info.subtype == "PCM_16"
    assert info.frames == round(1.5 * 22050)
    cap = capsys.readouterr()
    assert "wrote 33075 samples" in cap.out and "real time" in cap.err  # summary; progress bar with RTF
    assert main(argv + ["--overwrite", "--seconds", "0.5"]) == 0
    assert sf.info(str(out)).frames == round(0.5 * 22050)


def test_cli_stream_errors_are_one_line(tiny_ckpt, tmp_path, capsys):
    from texnet.cli import main

    existing = tmp_path / "x.wav"
    existing.write_bytes(b"keep")
    cases = [
        (["--ckpt", str(tiny_ckpt), "--out", str(existing)], "already exists"),
        (["--ckpt", str(tiny_ckpt), "--out", str(tmp_path / "x.mp3")], ".wav"),
        (["--ckpt", str(tmp_path / "none.ckpt"), "--out", str(tmp_path / "y.wav")], "no such checkpoint"),
        (["--ckpt", str(tiny_ckpt), "--out", str(tmp_path / "y.wav"), "--seconds", "-1"], "--seconds"),
    ]
    for argv, needle in cases:
        assert main(["stream", *argv]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("synthesize.py: error:") and needle in err[0], err
    assert existing.read_bytes() == b"keep" and not (tmp_path / "y.wav").exists()
