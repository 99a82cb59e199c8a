"""Faults a hostile user or a crash brings: every command fails in one line (exit 2) before any work, and
nothing is half-written, mixed between two runs or silently replaced."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from texnet.outputs import OutputExists, WavStream, atomic_write

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "configs" / "tiny.yaml"
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def run(*args, timeout=300):
    return subprocess.run([sys.executable, *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=ENV)


def one_line_error(r, *words):
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    last = r.stderr.strip().splitlines()[-1]
    assert "Traceback" not in r.stderr and "error:" in last, r.stderr[-2000:]
    for w in words:
        assert w in last, (w, last)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("reliability") / "run"
    r = run("train.py", "--config", TINY, "--out", out, "--wandb", "off", "--compare.enabled", "false")
    assert r.returncode == 0, r.stderr[-2000:]
    return out


# ------------------------------------------------------------------------------------------------- files


def test_wav_stream_is_a_complete_wav_after_every_block(tmp_path):
    path = tmp_path / "s.wav"
    w = WavStream(path, 22050)
    for n in (100, 1000, 7):
        w.write(np.arange(n, dtype=np.int16))
        with wave.open(str(path)) as r:  # read while still open for writing, as after a crash
            assert r.getnframes() == w.samples and r.getframerate() == 22050 and r.getsampwidth() == 2
    with wave.open(str(path)) as r:
        assert np.array_equal(np.frombuffer(r.readframes(7), "<i2"), np.arange(7))
    w.capacity = 1200
    with pytest.raises(ValueError, match="at most 1200 samples"):
        w.write(np.zeros(200, np.int16))
    w.close()
    with pytest.raises(OutputExists):
        WavStream(path, 22050)


def test_atomic_write_never_mixes_two_writers(tmp_path):
    path = tmp_path / "a.json"
    atomic_write(path, lambda tmp: Path(tmp).write_text("first"))
    with pytest.raises(OutputExists):
        atomic_write(path, lambda tmp: Path(tmp).write_text("second"))
    assert path.read_text() == "first" and sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]
    atomic_write(path, lambda tmp: Path(tmp).write_text("third"), overwrite=True)
    assert path.read_text() == "third"

    def broken(tmp):
        Path(tmp).write_text("half")
        raise RuntimeError("crash while writing")

    with pytest.raises(RuntimeError):
        atomic_write(tmp_path / "b.json", broken)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]  # no partial file, no temporary left


def test_stream_killed_at_any_moment_leaves_a_readable_wav(tiny_run, tmp_path):
    out = tmp_path / "k.wav"
    p = subprocess.Popen([sys.executable, "synthesize.py", "stream", "--ckpt", str(tiny_run / "last.ckpt"),
                          "--seconds", "3600", "--block-seconds", "0.2", "--quiet", "--out", str(out)],
                         cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and (not out.exists() or out.stat().st_size < 44 + 4 * 22050):
            time.sleep(0.2)
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()
    size = out.stat().st_size
    with wave.open(str(out)) as r:
        frames = r.getnframes()
    assert frames >= 2 * 22050 and 44 + 2 * frames <= size  # every block whose header was written is there


# -------------------------------------------------------------------------------------------- commands


def test_a_second_training_into_a_run_directory_is_refused_unless_resumed_or_replaced(tiny_run, tmp_path):
    common = ["--wandb", "off", "--compare.enabled", "false"]
    before = (tiny_run / "last.ckpt").stat().st_mtime_ns
    one_line_error(run("train.py", "--config", TINY, "--out", tiny_run, *common), "holds a run", "--overwrite")
    assert (tiny_run / "last.ckpt").stat().st_mtime_ns == before
    out = tmp_path / "run"
    assert run("train.py", "--config", TINY, "--out", out, *common).returncode == 0
    (out / "notes.txt").write_text("mine")
    r = run("train.py", "--config", TINY, "--out", out, *common, "--overwrite", "--trainer.max_steps", "3")
    assert r.returncode == 0, r.stderr[-2000:]
    names = sorted(p.name for p in out.iterdir())
    assert "notes.txt" in names and not any("-v1" in n for n in names)
    import torch

    assert torch.load(out / "last.ckpt", weights_only=True)["global_step"] == 3  # the new run, whole
    r = run("train.py", "--config", TINY, "--out", out, *common, "--ckpt_path", out / "last.ckpt")
    assert r.returncode == 0 and torch.load(out / "last.ckpt", weights_only=True)["global_step"] == 6
    assert not any("-v1" in p.name for p in out.iterdir())


@pytest.mark.parametrize("case", ["missing_audio", "nan_weights", "short_crop"])
def test_training_on_bad_input_is_one_line(tmp_path, case):
    extra = {"missing_audio": ["--data.audio", "[no_such.wav]"],
             "nan_weights": ["--data.audio", "[data/rain.ogg, data/fire.ogg]", "--data.weights", "[1, .nan]"],
             "short_crop": ["--data.crop_seconds", "0.001"]}[case]
    words = {"missing_audio": "no such file", "nan_weights": "finite", "short_crop": "crop_seconds"}[case]
    r = run("train.py", "--config", TINY, "--out", tmp_path / "run", "--wandb", "off", *extra)
    one_line_error(r, words)
    assert not list((tmp_path / "run").glob("*.ckpt"))


def test_generate_checks_every_output_before_any_work(tiny_run, tmp_path):
    out = tmp_path / "tex.wav"
    (tmp_path / "tex_seed2.wav").write_bytes(b"precious")
    r = run("synthesize.py", "generate", "--ckpt", tiny_run / "last.ckpt", "--seconds", "1", "--seed", "1", "2",
            "--out", out, "--griffin-lim-iters", "1")
    one_line_error(r, "tex_seed2.wav", "already exists")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tex_seed2.wav"]
    assert (tmp_path / "tex_seed2.wav").read_bytes() == b"precious"


@pytest.mark.parametrize("args, words", [
    (["generate", "--seconds", "inf"], "--seconds"),
    (["generate", "--seconds", "1e9"], "stream"),
    (["generate", "--seed", str(2**64)], "--seed"),
    (["stream", "--block-seconds", "1e12"], "--block-seconds"),
])
def test_unbounded_requests_are_refused_up_front(tiny_run, tmp_path, args, words):
    r = run("synthesize.py", args[0], "--ckpt", tiny_run / "last.ckpt", *args[1:], "--out", tmp_path / "x.wav",
            timeout=60)
    one_line_error(r, words)
    assert not list(tmp_path.iterdir())


def test_optimize_refuses_a_seed_out_of_range_by_name(tmp_path):
    r = run("synthesize.py", "optimize", "--style", "data/rain.ogg", "--seed", str(2**64), "--out", tmp_path / "x.wav")
    one_line_error(r, "--seed")


def test_device_option_is_checked_before_any_work(tiny_run, tmp_path):
    import torch

    from texnet.cli import CLIError, resolve_device

    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(CLIError, match="expected auto, cpu"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        r = run("synthesize.py", "generate", "--ckpt", tiny_run / "last.ckpt", "--device", "cuda", "--out",
                tmp_path / "x.wav")
        one_line_error(r, "no CUDA device")
    r = run("synthesize.py", "generate", "--ckpt", tiny_run / "last.ckpt", "--device", "cpu", "--seconds", "1",
            "--griffin-lim-iters", "1", "--out", tmp_path / "y.wav")
    assert r.returncode == 0, r.stderr[-2000:]


def test_one_texnet_command_for_everything(tmp_path):
    r = run("-m", "texnet", "bogus")
    one_line_error(r, "unknown command 'bogus'", "train")
    r = run("-m", "texnet", "train", "--config", TINY, "--data.audio", "data/fire.ogg",  # no brackets needed
            "--out", tmp_path / "run", "--wandb", "off", "--compare.enabled", "false", "--trainer.max_steps", "2")
    assert r.returncode == 0, r.stderr[-2000:]
    r = run("-m", "texnet", "generate", "--ckpt", tmp_path / "run" / "last.ckpt", "--seconds", "1",
            "--griffin-lim-iters", "1", "--out", tmp_path / "g.wav")
    assert r.returncode == 0 and (tmp_path / "g.wav").is_file(), r.stderr[-2000:]


def test_evaluate_judges_the_first_ten_minutes_of_a_long_file(monkeypatch):
    import torch

    import texnet.evaluation as E

    monkeypatch.setattr(E, "MAX_SECONDS", 2.0)
    g = torch.Generator().manual_seed(0)
    report = E.evaluate(0.1 * torch.randn(5 * 22050, generator=g), [0.1 * torch.randn(3 * 22050, generator=g)], 22050)
    assert report["candidates"][0]["seconds"] == pytest.approx(2.0)
    assert any("first 2 s are judged" in n for n in report["notes"])
