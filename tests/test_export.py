"""Export: the TorchScript file of a phase-free checkpoint gives generate's and stream's audio (stateless
and streaming, blocks of any size), the CLI writes it atomically and refuses other generators in one
line, and examples/play_export.py runs it with plain torch while texnet cannot be imported."""
from __future__ import annotations

import subprocess
import sys
import wave
from pathlib import Path

import pytest
import torch

from texnet import streaming as S
from texnet.inference import load_generator

ROOT = Path(__file__).resolve().parent.parent
# float rounding only: TorchScript and the streamed convolutions (a few frames at a time) sum in another
# order than the one pass; the tiny generator's audio peaks around 0.3
ATOL = 1e-6


@pytest.fixture(scope="module")
def wave_ckpt(tiny_checkpoint) -> Path:
    return tiny_checkpoint("waveform")


@pytest.fixture(scope="module")
def exported(wave_ckpt, tmp_path_factory) -> Path:
    from texnet.cli import main

    out = tmp_path_factory.mktemp("export") / "tiny.pt"
    assert main(["export", "--ckpt", str(wave_ckpt), "--out", str(out)]) == 0
    return out


def _one_pass(synth, n_samples: int, seed: int) -> torch.Tensor:
    """The first ``n_samples`` of the texture from Synthesizer.generate, long enough that every one has
    all its frames (generate's own last n_fft / 2 - hop samples lack the frames after its end)."""
    extra = synth.frontend.n_fft + synth.frontend.hop_length
    return synth.generate((n_samples + extra) / synth.sample_rate, seed=seed)[:n_samples]


def test_exported_module_equals_generate_and_stream(exported, wave_ckpt):
    synth = load_generator(wave_ckpt)
    m = torch.jit.load(str(exported))
    sr, hop = m.sample_rate, m.hop_length
    assert (sr, hop) == (synth.sample_rate, synth.frontend.hop_length)
    ref = _one_pass(synth, 120 * hop, seed=4)
    assert ref.abs().max() > 1e-3  # a trained generator's audio, not silence
    with torch.no_grad():
        whole = m(4, 0, 120)
        assert whole.shape == (120 * hop,) and whole.dtype == torch.float32
        assert (whole - ref).abs().max() < ATOL
        assert (m(4, 37, 50) - ref[37 * hop: 87 * hop]).abs().max() < ATOL  # any window of the texture
        assert not torch.allclose(m(5, 0, 120), whole)
        streamed = torch.cat(list(S.stream_waveform(synth, 120 * hop / sr, seed=4, block_seconds=0.1)))
        assert (whole - streamed).abs().max() < ATOL


def test_exported_stream_in_blocks_of_any_size_equals_one_pass(exported):
    m = torch.jit.load(str(exported))
    hop = m.hop_length
    with torch.no_grad():
        ref = m(7, 0, 200)
        m.stream.reset(7, 0)
        parts = [m.stream(1), m.stream(13), m.stream.read(1), m.stream.read(441), m.stream.read(5000)]
        n = sum(p.numel() for p in parts)
        parts.append(m.stream.read(200 * hop - n))
        y = torch.cat(parts)
        assert y.shape == ref.shape
        assert (y - ref).abs().max() < ATOL
        m.stream.reset(7, 150)  # a stream can start anywhere
        assert (m.stream(50) - ref[150 * hop:]).abs().max() < ATOL


def test_cli_refuses_other_generators_and_existing_files_in_one_line(exported, wave_ckpt, tiny_checkpoint,
                                                                      tmp_path, capsys):
    from texnet.cli import main

    before = exported.read_bytes()
    cases = [
        (["--ckpt", str(tiny_checkpoint("texture")), "--out", str(tmp_path / "m.pt")], "magnitude generator"),
        (["--ckpt", str(wave_ckpt), "--out", str(exported)], "already exists"),
        (["--ckpt", str(wave_ckpt), "--out", str(tmp_path / "m.onnx")], ".pt"),
        (["--ckpt", str(tmp_path / "none.ckpt"), "--out", str(tmp_path / "m.pt")], "no such checkpoint"),
    ]
    for argv, needle in cases:
        assert main(["export", *argv]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("synthesize.py: error:") and needle in err[0], err
    assert not (tmp_path / "m.pt").exists() and exported.read_bytes() == before
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind
    assert main(["export", "--ckpt", str(wave_ckpt), "--out", str(exported), "--overwrite"]) == 0


def test_texnet_export_command_and_example_without_texnet(exported, wave_ckpt, tmp_path):
    # `texnet export` end to end in a fresh process
    out = tmp_path / "cli.pt"
    r = subprocess.run([sys.executable, "-m", "texnet", "export", "--ckpt", str(wave_ckpt), "--out", str(out)],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "wrote" in r.stdout and out.stat().st_size > 0
    # the example, where `import texnet` fails: a package of that name that refuses to load comes first
    hidden = tmp_path / "hidden"
    (hidden / "texnet").mkdir(parents=True)
    (hidden / "texnet" / "__init__.py").write_text("raise ImportError('texnet must not be needed here')\n")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(hidden), "OMP_NUM_THREADS": "1"}
    probe = subprocess.run([sys.executable, "-c", "import texnet"], cwd=tmp_path, env=env, capture_output=True,
                           text=True, timeout=120)
    assert probe.returncode != 0 and "must not be needed" in probe.stderr
    wav = tmp_path / "example.wav"
    r = subprocess.run([sys.executable, str(ROOT / "examples" / "play_export.py"), str(out), str(wav),
                        "--seconds", "0.5", "--seed", "4"], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    with wave.open(str(wav)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 22050)
        pcm = torch.frombuffer(bytearray(w.readframes(w.getnframes())), dtype=torch.int16)
    assert pcm.numel() == round(0.5 * 22050)
    m = torch.jit.load(str(exported))
    with torch.no_grad():
        ref = (m(4, 0, 200)[: pcm.numel()].clamp(-1, 1) * 32767).round()
    assert (pcm.float() - ref).abs().max() <= 1  # the same texture, to the 16-bit step
