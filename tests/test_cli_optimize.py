"""``synthesize.py optimize`` end to end, as a user runs it: a subprocess on tiny settings.

Every run starts a fresh Python that imports torch (a few seconds each), so all runs of this module are
started together in one module-scoped fixture, a few at a time, and the tests then inspect the results.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
SR = 22050
HOP = 64
# tiny settings, the paper's spectrogram domain: 129 bins, receptive field 9 frames = 512 samples (23 ms)
CONFIG = """\
model:
  frontend: {n_fft: 256, hop_length: 64, scale: log1p, griffin_lim_iters: 8}
  descriptor: {n_filters: 16, kernel_sizes: [3, 9]}
  objective: {resolutions: [], band_whitening: 0, spectrum_weight: 0, auditory_weight: 0, tone_weight: 0}
optimize:
  domain: spectrogram
  max_iter: 3
"""
RF_SAMPLES = 8 * HOP


def _write(path: Path, data: np.ndarray, subtype: str = "PCM_16") -> Path:
    sf.write(str(path), data.astype(np.float32), SR, subtype=subtype)
    return path


def _inputs(root: Path) -> dict[str, Path]:
    """Good and bad input files under ``root``."""
    d = root / "inputs"
    d.mkdir()
    speech, _ = sf.read(str(REPO / "data" / "speech.ogg"), dtype="float32")
    (d / "a_directory.wav").mkdir()
    (d / "empty.wav").write_bytes(b"")
    (d / "text.wav").write_text("this is not audio\n")
    nan = np.random.default_rng(0).normal(0, 0.1, SR).astype(np.float32)
    nan[1000:1010] = np.nan
    return {
        "content": _write(d / "content.wav", speech[:int(1.2 * SR)]),
        "rain_4s": _write(d / "rain_4s.wav", sf.read(str(REPO / "data" / "rain.ogg"), dtype="float32")[0][:4 * SR]),
        "missing": d / "no_such_file.wav",
        "directory": d / "a_directory.wav",
        "empty": d / "empty.wav",
        "text": d / "text.wav",
        "silent": _write(d / "silent.wav", np.zeros(SR)),
        "short": _write(d / "short.wav", 0.1 * np.sin(np.arange(100) / 3.0)),
        "nan": _write(d / "nan.wav", nan, subtype="FLOAT"),
    }


def _cases(inp: dict[str, Path]) -> dict[str, dict]:
    """name -> {args, plus what the test checks}; ``{out}`` is replaced by the case's output .wav."""
    rain, insects = str(REPO / "data" / "rain.ogg"), str(REPO / "data" / "insects.ogg")
    bad_audio = {
        # case: (option, file, words the message must contain)
        "missing": ("--style", inp["missing"], "no such file"),
        "directory": ("--content", inp["directory"], "is a directory"),
        "empty": ("--style", inp["empty"], "empty file"),
        "text": ("--style", inp["text"], "not a readable audio file"),
        "silent": ("--style", inp["silent"], "silent"),
        "short": ("--style", inp["short"], "too short"),
        "nan": ("--style", inp["nan"], "NaN"),
    }
    cases = {
        "texture": dict(args=["--style", rain, "--seconds", "1.5"]),
        "multi": dict(args=["--style", rain, "--style", insects, "--weights", "2", "1", "--seconds", "1.0"]),
        "transfer": dict(args=["--style", rain, "--content", str(inp["content"])]),
    }
    for name, (opt, path, words) in bad_audio.items():
        args = ["--style", rain, opt, str(path)] if opt == "--content" else [opt, str(path), "--seconds", "1"]
        cases[f"bad_{name}"] = dict(args=args, path=str(path), words=words)
    cases["bad_weights"] = dict(args=["--style", rain, "--style", insects, "--weights", "1", "2", "3"],
                                path="--weights", words="3 values for 2 --style")
    cases["bad_too_short_output"] = dict(args=["--style", rain, "--seconds", "0.01"],
                                         path="0.01 s", words="receptive field")
    cases["bad_no_style"] = dict(args=["--seconds", "1"], path="--style", words="required", argparse=True)
    # no --config: configs/baseline.yaml, the waveform baseline (a short source keeps its targets cheap; its
    # auditory term's 3 s segments need 3.07 s of output and of source)
    cases["default_config"] = dict(args=["--style", str(inp["rain_4s"]), "--seconds", "3.2"], no_config=True)
    cases["bad_spectrogram_default"] = dict(args=["--style", str(inp["rain_4s"]), "--domain", "spectrogram"],
                                            no_config=True, path="resolutions", words="configs/paper.yaml")
    cases["bad_exists"] = dict(args=["--style", rain, "--seconds", "1"], path="out.wav", words="already exists",
                               preexisting=True)
    return cases


def _run(args: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "synthesize.py", "optimize", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    inp = _inputs(root)
    (root / "config.yaml").write_text(CONFIG)
    cases = _cases(inp)
    jobs = {}
    for name, case in cases.items():
        out_dir = root / name
        out = out_dir / "out.wav"
        if case.get("preexisting"):
            out_dir.mkdir()
            out.write_bytes(b"precious")
        case.update(out=out, out_dir=out_dir)
        config = [] if case.get("no_config") else ["--config", str(root / "config.yaml")]
        jobs[name] = case["args"] + ["--out", str(out), *config, "--max-iter", "3", "--quiet"]
    workers = max(2, min(4, os.cpu_count() or 2))
    with ThreadPoolExecutor(workers) as pool:
        futures = {name: pool.submit(_run, args) for name, args in jobs.items()}
        for name, fut in futures.items():
            cases[name]["proc"] = fut.result()
    return cases


def _ok(case) -> dict:
    proc = case["proc"]
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    out: Path = case["out"]
    for suffix in (".wav", ".png", ".json"):
        assert out.with_suffix(suffix).is_file(), suffix
        assert out.with_suffix(suffix).stat().st_size > 0
    assert sorted(p.name for p in case["out_dir"].iterdir()) == ["out.json", "out.png", "out.wav"]  # no temp files
    assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {out}" in proc.stdout
    return json.loads(out.with_suffix(".json").read_text())


# ----------------------------------------------------------------------------------------- end to end


def test_texture_end_to_end(runs):
    case = runs["texture"]
    record = _ok(case)
    data, sr = sf.read(str(case["out"]))
    assert sr == SR and data.ndim == 1
    assert len(data) == round(1.5 * SR)
    assert np.isfinite(data).all() and np.abs(data).max() > 1e-3
    assert record["command"] == "optimize" and record["content"] is None
    assert record["frames"] == 1 + -(-int(1.5 * SR) // HOP)  # the frames that cover it
    assert record["seconds"] == pytest.approx(len(data) / SR)
    assert record["frontend"]["n_fft"] == 256 and record["descriptor"]["kernel_sizes"] == [3, 9]
    assert record["optimize"]["max_iter"] == 3 and record["stop_reason"] == "max_iter"
    assert len(record["losses"]) >= 3 and np.isfinite(record["style_loss"])


def test_multi_texture_with_weights(runs):
    case = runs["multi"]
    record = _ok(case)
    assert record["weights"] == [2.0, 1.0]
    assert [Path(p).name for p in record["style"]] == ["rain.ogg", "insects.ogg"]
    data, _ = sf.read(str(case["out"]))
    assert abs(len(data) / SR - 1.0) <= HOP / SR


def test_style_transfer_keeps_the_content_length(runs):
    case = runs["transfer"]
    record = _ok(case)
    data, _ = sf.read(str(case["out"]))
    content, _ = sf.read(str(Path(record["content"])))
    assert abs(len(data) - len(content)) < HOP  # --seconds (default 10) is ignored with --content
    assert np.isfinite(record["content_loss"]) and record["content_loss"] >= 0


def test_default_config_is_the_waveform_baseline(runs):
    """Without --config: configs/baseline.yaml (waveform domain, three resolutions, auditory statistics); the
    record's seconds and spectrogram are the front end's, not the first resolution's (128-point) frames."""
    case = runs["default_config"]
    record = _ok(case)
    assert Path(record["config"]) == REPO / "configs" / "baseline.yaml"
    assert record["domain"] == "waveform"
    assert record["objective"]["auditory_weight"] > 0 and record["objective"]["resolutions"] == [128, 512, 2048]
    data, _ = sf.read(str(case["out"]))
    assert record["seconds"] == pytest.approx(len(data) / SR) and abs(len(data) / SR - 3.2) < 0.02
    assert record["frames"] == 1 + len(data) // record["frontend"]["hop_length"]


# ------------------------------------------------------------------------------------------------ errors


BAD = ["bad_missing", "bad_directory", "bad_empty", "bad_text", "bad_silent", "bad_short", "bad_nan",
       "bad_weights", "bad_too_short_output", "bad_no_style", "bad_exists", "bad_spectrogram_default"]


@pytest.mark.parametrize("name", BAD)
def test_bad_input_is_one_line_exit_2_and_no_output(runs, name):
    case = runs[name]
    proc = case["proc"]
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    assert case["path"] in proc.stderr
    assert case["words"] in proc.stderr
    lines = proc.stderr.strip().splitlines()
    if case.get("argparse"):
        assert lines[-1].startswith("synthesize.py optimize: error:")
    else:
        assert len(lines) == 1, proc.stderr
        assert lines[0].startswith("synthesize.py: error: ")
    # nothing written: no .wav/.png/.json, no temporary files
    out_dir: Path = case["out_dir"]
    left = sorted(p.name for p in out_dir.iterdir()) if out_dir.exists() else []
    if case.get("preexisting"):
        assert left == ["out.wav"]
        assert case["out"].read_bytes() == b"precious"
    else:
        assert left == []


def test_error_names_the_problem_precisely(runs):
    """The messages carry numbers a user can act on."""
    short = runs["bad_short"]["proc"].stderr
    assert "0.005 s" in short and "needs at least 0.023 s" in short
    assert "--overwrite" in runs["bad_exists"]["proc"].stderr
    assert "receptive field (0.023 s)" in runs["bad_too_short_output"]["proc"].stderr


def test_outputs_get_ordinary_file_permissions(runs):
    """PNG and JSON are written through a temporary file like the WAV: all three get the umask's mode,
    not mkstemp's private 0600."""
    import stat

    out: Path = runs["texture"]["out"]
    modes = {s: stat.S_IMODE(out.with_suffix(s).stat().st_mode) for s in (".wav", ".png", ".json")}
    assert modes[".png"] == modes[".json"] == modes[".wav"], modes


def test_save_json_failure_leaves_nothing_behind(tmp_path):
    from texnet.reporting import save_json

    with pytest.raises(TypeError):
        save_json({"x": object()}, tmp_path / "r.json")
    assert list(tmp_path.iterdir()) == []
