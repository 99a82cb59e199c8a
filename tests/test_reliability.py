"""Faults a hostile user or a crash brings: every command fails in one line (exit 2) before any work, and
nothing is half-written, mixed between two runs or silently replaced.

The argument and input checks run the commands' ``main`` in this process (no interpreter start-up per case);
what needs a process of its own (a kill, a signal, a file size limit, two trainings at once) runs as one.
``bench/fault_probes.py`` runs the whole probe list of issue 20 the slow way, one process per probe.
"""
from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from texnet.inference import CHECKPOINT_FORMAT, CheckpointError, load_generator
from texnet.outputs import OutputExists, WavStream, all_or_nothing, atomic_write, check_outputs

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "configs" / "tiny.yaml"
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
SR = 22050


def run(*args, timeout=300, **kw):
    return subprocess.run([sys.executable, *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=ENV, **kw)


def one_line_error(r, *words):
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr and "error:" in lines[0], r.stderr[-2000:]
    for w in words:
        assert w in lines[0], (w, lines[0])


def call(main, argv, capsys) -> tuple[int, list[str]]:
    """A command's ``main(argv)`` in this process: its exit status and its stderr lines."""
    try:
        rc = main([str(a) for a in argv])
    except SystemExit as e:
        rc = e.code
    return rc or 0, capsys.readouterr().err.strip().splitlines()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Bad inputs and checkpoints, made once: an untrained tiny generator saved as train.py saves one
    (instant: no Trainer), and variants of it from another program, version or a hostile source."""
    from texnet.experiments import module_kwargs
    from texnet.module import TextureModule

    d = tmp_path_factory.mktemp("inputs")
    noise = (0.1 * np.random.default_rng(0).standard_normal(2 * SR)).astype(np.float32)
    sf.write(d / "noise.wav", noise, SR)
    sf.write(d / "silent.wav", np.zeros(SR, np.float32), SR)
    (d / "garbage.ckpt").write_bytes(np.random.default_rng(1).bytes(3000))
    (d / "folder.ckpt").mkdir()
    module = TextureModule(**module_kwargs(TINY))
    good = {"texnet_format": CHECKPOINT_FORMAT, "hyper_parameters": json.loads(json.dumps(dict(module.hparams))),
            "state_dict": module.state_dict(), "global_step": 0}
    torch.save(good, d / "tiny.ckpt")

    def variant(name, edit):
        ck = {**good, "hyper_parameters": json.loads(json.dumps(good["hyper_parameters"])),
              "state_dict": {k: v.clone() for k, v in good["state_dict"].items()}}
        edit(ck)
        torch.save(ck, d / name)

    variant("unknown.ckpt", lambda ck: ck["hyper_parameters"]["generator"].update(future_option=3))
    variant("no_frontend.ckpt", lambda ck: ck["hyper_parameters"].pop("frontend"))
    variant("no_key.ckpt", lambda ck: ck["hyper_parameters"]["generator"].pop("noise_channels"))
    variant("bad_type.ckpt", lambda ck: ck["hyper_parameters"]["frontend"].update(n_fft="big"))
    variant("format9.ckpt", lambda ck: ck.update(texnet_format="texnet-generator-9"))
    variant("nan.ckpt", lambda ck: [t.fill_(float("nan")) for t in ck["state_dict"].values()])
    data = (d / "tiny.ckpt").read_bytes()
    (d / "truncated.ckpt").write_bytes(data[: len(data) // 2])

    class Evil:  # loading this without weights_only would run a command
        def __reduce__(self):
            return (os.system, (f"touch {d / 'PWNED'}",))

    torch.save({**good, "x": Evil()}, d / "evil.ckpt")
    (d / "a_file").write_text("not a folder")
    (d / "typo.yaml").write_text("model:\n  generator: {future_option: 3}\n")
    return d


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

    def disk_full(tmp):
        Path(tmp).write_text("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match=r"b.json: could not be written \(No space left on device\)"):
        atomic_write(tmp_path / "b.json", disk_full)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]  # no partial file, no temporary left


def test_a_command_leaves_all_its_files_or_none(tmp_path):
    (tmp_path / "theirs.wav").write_text("another command's")
    with pytest.raises(OSError, match="disk full"):
        with all_or_nothing() as keep:
            keep(atomic_write(tmp_path / "x.wav", lambda tmp: Path(tmp).write_text("wav")))
            with pytest.raises(OutputExists):  # a racing command's file: not ours, never removed
                keep(atomic_write(tmp_path / "theirs.wav", lambda tmp: Path(tmp).write_text("mine")))
            raise OSError("disk full")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["theirs.wav"]
    assert (tmp_path / "theirs.wav").read_text() == "another command's"


def test_outputs_that_cannot_be_made_are_refused_before_any_work(tmp_path):
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(NotADirectoryError, match="a_file is not a directory"):
        check_outputs([tmp_path / "a_file" / "sub" / "x.wav"])
    check_outputs([tmp_path / "new" / "deeper" / "x.wav"])  # made later, where it can be
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]  # the check leaves nothing
    if os.geteuid() != 0:  # root writes anywhere
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o555)
        with pytest.raises(PermissionError, match="cannot write there"):
            check_outputs([ro / "x.wav"])


# ------------------------------------------------------------------------------------- checkpoint faults


@pytest.mark.parametrize("name, words", [
    ("missing.ckpt", "no such checkpoint file"),
    ("folder.ckpt", "is a directory, not a checkpoint file"),
    ("garbage.ckpt", "not a loadable texnet checkpoint"),
    ("truncated.ckpt", "not a loadable texnet checkpoint"),
    ("evil.ckpt", "pickled Python objects (posix.system)"),
    ("unknown.ckpt", "unknown generator setting(s) ['future_option']"),
    ("no_frontend.ckpt", "'frontend' settings are missing"),
    ("no_key.ckpt", "does not name ['generator.noise_channels']"),
    ("bad_type.ckpt", "cannot rebuild its generator"),
    ("format9.ckpt", "'texnet-generator-9', this texnet version reads 'texnet-generator-1'"),
    ("nan.ckpt", "NaN or infinite"),
])
def test_a_bad_checkpoint_is_one_line_naming_what_differs(inputs, name, words):
    with pytest.raises(CheckpointError) as e:
        load_generator(inputs / name)
    msg = str(e.value)
    assert words in msg and "\n" not in msg and "weights_only" not in msg and name in msg
    assert not (inputs / "PWNED").exists()  # no code from the file ran


# ------------------------------------------------------------------------------- synthesis: refused early

SYN_CASES = [  # (argv with {d}: inputs, {t}: tmp_path; words in the error line)
    ("optimize --style {d}/noise.wav --seconds inf --out {t}/o.wav", "--seconds"),
    ("optimize --style {d}/noise.wav --seed 18446744073709551616 --out {t}/o.wav", "--seed"),
    # the weights are checked before the (missing) audio is looked at, the output before either
    ("optimize --style {t}/none.wav --style {d}/noise.wav --weights 1 nan --out {t}/o.wav", "--weights"),
    ("optimize --style {t}/none.wav --out {d}/a_file/o.wav", "a_file is not a directory"),
    ("optimize --style {d}/noise.wav --max-iter 0 --out {t}/o.wav", "--max-iter"),
    ("optimize --style {d}/noise.wav --time-budget nan --out {t}/o.wav", "--time-budget"),
    ("optimize --style {d}/noise.wav --content-weight -1 --out {t}/o.wav", "--content-weight"),
    ("optimize --style {d}/noise.wav --bogus --out {t}/o.wav", "unrecognized arguments: --bogus"),
    ("optimize --style {d}/noise.wav --seconds ten --out {t}/o.wav", "--seconds"),
    ("optimize --config {d}/typo.yaml --style {d}/noise.wav --out {t}/o.wav", "unknown key(s) ['future_option']"),
    ("generate --ckpt {d}/tiny.ckpt --seconds 1e9 --out {t}/g.wav", "use 'stream'"),
    ("generate --ckpt {d}/tiny.ckpt --seed 1 1 --out {t}/g.wav", "--seed"),
    ("generate --ckpt {d}/tiny.ckpt --griffin-lim-iters 1000000000 --out {t}/g.wav", "--griffin-lim-iters"),
    ("generate --ckpt {d}/folder.ckpt --out {t}/g.wav", "is a directory"),
    ("generate --ckpt {d}/tiny.ckpt --device tpu --out {t}/g.wav", "--device"),
    ("generate --ckpt {d}/tiny.ckpt", "required: --out"),
    ("stylize --ckpt {d}/tiny.ckpt --content {d}/noise.wav --out {t}/y.wav", "texture generator"),
    ("stylize --ckpt {d}/tiny.ckpt --content {d}/noise.wav --seed -1 --out {t}/y.wav", "--seed"),
    ("stylize --ckpt {d}/tiny.ckpt --content {t}/none.wav --out {t}/y.wav", "none.wav: no such file"),
    ("stream --ckpt {d}/tiny.ckpt --block-seconds 1e12 --out {t}/s.wav", "--block-seconds"),
    ("stream --ckpt {d}/tiny.ckpt --seconds 1e6 --out {t}/s.wav", "a WAV holds at most"),
    ("stream --ckpt {d}/tiny.ckpt --seed -1 --out {t}/s.wav", "--seed"),
    ("stream --ckpt {d}/tiny.ckpt --out {d}/a_file/s.wav", "a_file is not a directory"),
    ("evaluate {d}/noise.wav {d}/noise.wav {d}/noise.wav {d}/noise.wav", "one or two candidates"),
    ("evaluate {d}/noise.wav {d}/noise.wav --sample-rate 0", "--sample-rate 0 Hz is not usable"),
    ("evaluate {d}/silent.wav {d}/noise.wav", "silent"),
]


@pytest.mark.parametrize("argv, words", SYN_CASES, ids=[c[0].split()[0] + " " + c[1] for c in SYN_CASES])
def test_synthesis_refuses_bad_arguments_in_one_line_before_any_work(inputs, tmp_path, capsys, argv, words):
    from texnet.cli import main

    rc, err = call(main, argv.format(d=inputs, t=tmp_path).split(), capsys)
    assert rc == 2 and len(err) == 1 and words in err[0], err
    assert list(tmp_path.iterdir()) == []


def test_generate_checks_every_output_before_any_work(inputs, tmp_path, capsys):
    from texnet.cli import main

    (tmp_path / "tex_seed2.png").write_bytes(b"precious")
    rc, err = call(main, ["generate", "--ckpt", inputs / "tiny.ckpt", "--seconds", "1", "--seed", "1", "2",
                          "--out", tmp_path / "tex.wav"], capsys)
    assert rc == 2 and len(err) == 1 and "tex_seed2.png: already exists" in err[0], err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tex_seed2.png"]
    assert (tmp_path / "tex_seed2.png").read_bytes() == b"precious"


def test_optimize_max_iter_is_the_number_of_evaluations(tmp_path, capsys):
    from texnet.cli import main

    rc, err = call(main, ["optimize", "--config", TINY, "--style", ROOT / "data" / "rain.ogg", "--seconds", "0.5",
                          "--max-iter", "2", "--quiet", "--out", tmp_path / "o.wav"], capsys)
    assert rc == 0, err
    record = json.loads((tmp_path / "o.json").read_text())
    assert len(record["losses"]) == 2 and record["stop_reason"] == "max_iter"


def test_stream_progress_bar_ends_without_a_warning(inputs, tmp_path, capsys):
    from texnet.cli import main

    rc, err = call(main, ["stream", "--ckpt", inputs / "tiny.ckpt", "--seconds", "1.1", "--block-seconds", "0.25",
                          "--griffin-lim-iters", "1", "--out", tmp_path / "s.wav"], capsys)
    assert rc == 0 and sf.info(str(tmp_path / "s.wav")).frames == round(1.1 * SR)
    assert not any("clamping" in line or "Warning" in line for line in err), err


def test_library_checks_every_clip_before_training_any(inputs, tmp_path, capsys):
    from texnet.library import main

    rc, err = call(main, [inputs / "noise.wav", inputs / "silent.wav", "--out", tmp_path / "lib"], capsys)
    assert rc == 2 and len(err) == 1 and "silent.wav: is silent" in err[0], err
    rc, err = call(main, [inputs / "noise.wav", "--out", tmp_path / "lib", "--threads", "0"], capsys)
    assert rc == 2 and len(err) == 1 and "--threads" in err[0], err
    assert list(tmp_path.iterdir()) == []


def test_evaluate_judges_the_first_ten_minutes_of_a_long_file(monkeypatch):
    import texnet.evaluation as E

    monkeypatch.setattr(E, "MAX_SECONDS", 2.0)
    g = torch.Generator().manual_seed(0)
    report = E.evaluate(0.1 * torch.randn(5 * 22050, generator=g), [0.1 * torch.randn(3 * 22050, generator=g)], 22050)
    assert report["candidates"][0]["seconds"] == pytest.approx(2.0)
    assert any("first 2 s are judged" in n for n in report["notes"])


# ----------------------------------------------------------------------------------- training: refused early


@pytest.fixture
def train(monkeypatch, capsys, tmp_path):
    """``train.py ARGS`` on configs/tiny.yaml in this process (no start-up), into ``out`` (default
    ``tmp_path/run``): (status, stderr lines)."""
    from texnet.trainer_cli import main

    monkeypatch.setattr(sys, "argv", ["train.py"])

    def go(*args, out=tmp_path / "run"):
        return call(main, ["--config", TINY, "--wandb", "off", "--compare.enabled", "false", "--out", out, *args],
                    capsys)

    return go


TRAIN_CASES = [
    (["--bogus", "1"], "unrecognized arguments: --bogus"),
    (["--trainer.max_steps", "abc"], "trainer.max_steps"),
    (["--config", "{t}/none.yaml"], "none.yaml"),
    (["--data.audio", "{t}/none.wav"], "none.wav: no such file"),
    (["--data.audio", "{d}/silent.wav"], "is silent"),
    (["--data.audio", "[data/rain.ogg, data/fire.ogg]", "--data.weights", "[1, .nan]"], "data.weights"),
    (["--data.audio", "[data/rain.ogg, data/fire.ogg]", "--data.weights", "[0, 0]"], "data.weights"),
    (["--data.crop_seconds", "0"], "data.crop_seconds"),
    (["--data.crop_seconds", "0.001"], "receptive field"),
    (["--data.batch_size", "0"], "data.batch_size"),
    (["--threads", "0"], "--threads"),
    (["--trainer.max_steps", "-5"], "max_steps"),
    (["--samples.seconds", "-1"], "samples.seconds"),
    (["--calibrate.seconds", "-1"], "calibrate.seconds"),
    (["--calibrate.rounds", "0"], "calibrate.rounds"),
    (["--ckpt_path", "{d}/garbage.ckpt"], "not a loadable texnet checkpoint"),
    (["--ckpt_path", "{d}/folder.ckpt"], "is a directory"),
    (["--ckpt_path", "{d}/evil.ckpt"], "pickled Python objects"),
    (["--ckpt_path", "{d}/unknown.ckpt"], "future_option"),
    (["--out", "{d}/a_file/run"], "cannot write there"),
    # the end-of-training comparison too short to judge: refused before the training, not after it
    (["--compare.enabled", "true", "--compare.seconds", "0.01"], "compare.seconds (0.01 s) is shorter than the loss"),
]


@pytest.mark.parametrize("args, words", TRAIN_CASES, ids=[" ".join(c[0])[:40] for c in TRAIN_CASES])
def test_training_refuses_bad_input_in_one_line_before_any_work(inputs, tmp_path, train, args, words):
    rc, err = train(*[a.format(d=inputs, t=tmp_path) for a in args])
    assert rc == 2 and len(err) == 1 and err[0].startswith("train.py: error:") and words in err[0], err
    assert "weights_only" not in err[0] and not (inputs / "PWNED").exists()
    assert list(tmp_path.iterdir()) == []  # no run folder, no logs/version_0


def test_train_errors_name_the_command_the_user_typed(monkeypatch, capsys, tmp_path):
    from texnet.__main__ import main

    monkeypatch.setattr(sys, "argv", ["texnet"])  # texnet's dispatcher sets it: undone after the test
    rc, err = call(main, ["train", "--config", TINY, "--bogus", "1", "--out", tmp_path / "run"], capsys)
    assert rc == 2 and err[-1].startswith("texnet train: error:") and "(texnet train --help" in err[-1], err
    # Lightning's test and predict need steps a texture module has not: not offered, refused in one line
    rc, err = call(main, ["train", "test", "--config", TINY, "--out", tmp_path / "run"], capsys)
    assert rc == 2 and len(err) == 1 and "invalid choice: 'test' (choose from 'fit', 'validate')" in err[0], err
    assert not (tmp_path / "run").exists()


def test_two_trainings_cannot_write_one_run_folder(tmp_path):
    from texnet.trainer_cli import RunDir, RunDirError

    first = RunDir(tmp_path / "run", resume=False, overwrite=False).open()
    with pytest.raises(RunDirError, match=f"another training is writing there \\(process {os.getpid()}\\)"):
        RunDir(tmp_path / "run", resume=False, overwrite=False).open()
    first.discard()  # a start that failed: nothing of it stays
    first.close()
    assert not (tmp_path / "run").exists()
    second = RunDir(tmp_path / "run", resume=False, overwrite=False).open()
    (tmp_path / "run" / "last.ckpt").write_bytes(b"a finished run")
    second.close()
    with pytest.raises(RunDirError, match="holds a run"):
        RunDir(tmp_path / "run", resume=False, overwrite=False).open()


# ------------------------------------------------------------------------------- processes: kills and races


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A tiny training through ``python -m texnet train`` (a bare --data.audio path), stopped with Ctrl-C
    after its first checkpoint: (run folder, exit status, stderr)."""
    out = tmp_path_factory.mktemp("reliability") / "run"
    p = subprocess.Popen([sys.executable, "-m", "texnet", "train", "--config", TINY, "--data.audio", "data/fire.ogg",
                          "--out", out, "--wandb", "off", "--compare.enabled", "false",
                          "--trainer.max_steps", "100000"],
                         cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    while time.time() < deadline and p.poll() is None and not (out / "last.ckpt").exists():
        time.sleep(0.1)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    return out, p.returncode, err


def test_ctrl_c_stops_a_training_in_one_line_and_it_resumes(tiny_run, train):
    out, rc, err = tiny_run
    last = err.strip().splitlines()[-1]
    assert rc == 130 and "Traceback" not in err, err[-2000:]
    # run as `python -m texnet train`: the message names that command
    assert last.startswith("texnet train: stopped by Ctrl-C;") and f"--ckpt_path {out / 'last.ckpt'}" in last, last
    step = torch.load(out / "last.ckpt", weights_only=True)["global_step"]
    rc, err = train("--data.audio", "data/fire.ogg", "--ckpt_path", out / "last.ckpt", "--trainer.max_steps",
                    step + 2, out=out)
    assert rc == 0, err[-20:]
    assert torch.load(out / "last.ckpt", weights_only=True)["global_step"] == step + 2
    assert not any("-v1" in p.name for p in out.iterdir())


def test_a_second_training_into_a_run_folder_is_refused_unless_resumed_or_replaced(tiny_run, train):
    out = tiny_run[0]
    before = (out / "last.ckpt").stat().st_mtime_ns
    rc, err = train(out=out)
    assert rc == 2 and len(err) == 1 and "holds a run" in err[0] and "--overwrite" in err[0], err
    assert (out / "last.ckpt").stat().st_mtime_ns == before
    (out / "notes.txt").write_text("mine")
    rc, err = train("--overwrite", "--trainer.max_steps", "3", out=out)
    assert rc == 0, err[-20:]
    names = sorted(p.name for p in out.iterdir())
    assert "notes.txt" in names and not any("-v1" in n for n in names) and ".texnet.lock" not in names
    assert torch.load(out / "last.ckpt", weights_only=True)["global_step"] == 3  # the new run, whole


def test_stream_killed_at_any_moment_leaves_a_readable_wav(tiny_run, tmp_path):
    out = tmp_path / "k.wav"
    p = subprocess.Popen([sys.executable, "synthesize.py", "stream", "--ckpt", str(tiny_run[0] / "last.ckpt"),
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


def _file_size_limit(limit: int):
    def fn():  # writes past the limit fail with EFBIG, as on a full disk
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return fn


def test_a_full_disk_is_one_line_and_leaves_no_partial_output(tiny_run, tmp_path):
    ckpt = tiny_run[0] / "last.ckpt"
    kw = {"cwd": ROOT, "env": ENV, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True,
          "preexec_fn": _file_size_limit(60_000)}
    gen = subprocess.Popen([sys.executable, "synthesize.py", "generate", "--ckpt", ckpt, "--seconds", "3",
                            "--seed", "1", "2", "--griffin-lim-iters", "1", "--out", tmp_path / "g" / "g.wav"], **kw)
    stream = subprocess.Popen([sys.executable, "synthesize.py", "stream", "--ckpt", ckpt, "--seconds", "5",
                               "--block-seconds", "0.25", "--quiet", "--out", tmp_path / "s.wav"], **kw)
    for p, words in ((gen, "could not be written (File too large)"), (stream, "File too large")):
        out, err = p.communicate(timeout=120)
        one_line_error(subprocess.CompletedProcess(p.args, p.returncode, out, err), words)
    assert not (tmp_path / "g").exists() or list((tmp_path / "g").iterdir()) == []
    with wave.open(str(tmp_path / "s.wav")) as r:  # the stream keeps every block that fitted
        assert r.getnframes() >= SR // 2


def test_two_generate_runs_on_one_output_never_mix(tiny_run, tmp_path):
    ckpt = tiny_run[0] / "last.ckpt"
    procs = [subprocess.Popen([sys.executable, "synthesize.py", "generate", "--ckpt", ckpt, "--seconds", "1",
                               "--seed", str(seed), "--griffin-lim-iters", "1", "--out", tmp_path / "g.wav"],
                              cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for seed in (1, 2)]
    results = [(p, *p.communicate(timeout=120)) for p in procs]
    assert sorted(p.returncode for p, _, _ in results) == [0, 2], [err for _, _, err in results]
    seed = json.loads((tmp_path / "g.json").read_text())["seed"]
    synth = load_generator(ckpt)
    again = synth.generate(1.0, seed=seed, n_iter=1).numpy()
    got, _ = sf.read(str(tmp_path / "g.wav"), dtype="float32")
    assert np.abs(got - np.clip(again, -1, 1)).max() < 1.5 / 32767  # the WAV is the seed its JSON names
