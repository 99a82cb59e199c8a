"""A texture library: one generator per clip of a folder, trained in parallel, resumable, one summary."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from texnet.library import clip_names, find_clips

ROOT = Path(__file__).resolve().parent.parent


def test_clips_are_found_in_folders_and_named_uniquely(tmp_path):
    (tmp_path / "a").mkdir()
    for name in ("a/rain.wav", "a/notes.txt", "b rain.ogg", "rain.flac"):
        (tmp_path / name).write_bytes(b"x")
    clips = find_clips([str(tmp_path / "a"), str(tmp_path / "rain.flac"), str(tmp_path / "b rain.ogg")])
    assert [c.name for c in clips] == ["rain.wav", "rain.flac", "b rain.ogg"]
    assert clip_names(clips) == ["rain", "rain_2", "b_rain"]
    with pytest.raises(ValueError, match="no such file"):
        find_clips([str(tmp_path / "missing")])
    with pytest.raises(ValueError, match="no audio files"):
        (tmp_path / "empty").mkdir()
        find_clips([str(tmp_path / "empty")])


def run(*args):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "texnet.library", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def test_library_trains_each_clip_once_and_resumes(tmp_path):
    clips = tmp_path / "clips"
    clips.mkdir()
    for name in ("rain", "fire"):
        shutil.copy(ROOT / "data" / f"{name}.ogg", clips)
    out = tmp_path / "lib"
    tail = ["--", "--wandb", "off", "--compare.enabled", "false", "--trainer.max_steps", "2"]
    r = run(clips, "--out", out, "--config", "configs/tiny.yaml", "--jobs", "2", "--evaluate", *tail)
    assert r.returncode == 0, r.stderr[-3000:]
    rows = {Path(row["clip"]).stem: row for row in json.loads((out / "library.json").read_text())["rows"]}
    assert set(rows) == {"rain", "fire"}
    for row in rows.values():
        assert row["ok"] and row["steps"] == 2 and row["texture_ratio"] > 0
        assert (Path(row["run"]) / "last.ckpt").is_file()
    # a finished clip is not trained again; an interrupted one resumes from its last checkpoint
    (out / "fire" / "done.json").unlink()
    r = run(clips, "--out", out, "--config", "configs/tiny.yaml", "--evaluate", *tail)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "rain: reused" in r.stdout and "fire: started" in r.stdout
    # (train.py refuses a run folder holding a run unless --ckpt_path resumes it: success means it resumed)
    assert json.loads((out / "fire" / "done.json").read_text())["steps"] == 2
    # the same folder without --evaluate would mix whole-clip and half-clip generators: refused
    r = run(clips, "--out", out, "--config", "configs/tiny.yaml", *tail)
    assert r.returncode == 2 and "another --out" in r.stderr
    # other training settings would be passed off as these generators: refused too, before any training, and an
    # interrupted run is not resumed under them either
    (out / "fire" / "done.json").unlink()
    r = run(clips, "--out", out, "--config", "configs/tiny.yaml", "--evaluate", *tail[:-1], "3")
    assert r.returncode == 2 and "other settings" in r.stderr and "--trainer.max_steps 3" in r.stderr, r.stderr
    assert json.loads((out / "rain" / "done.json").read_text())["steps"] == 2 and not (out / "fire" / "done.json").exists()
    # the same settings in another order and spelling are the same training: reused, and fire resumed
    r = run(clips, "--out", out, "--config", "configs/tiny.yaml", "--evaluate", "--", "--trainer.max_steps=2",
            "--compare.enabled", "false", "--wandb", "off")
    assert r.returncode == 0 and "rain: reused" in r.stdout, r.stderr[-3000:]
    assert json.loads((out / "fire" / "done.json").read_text())["steps"] == 2
