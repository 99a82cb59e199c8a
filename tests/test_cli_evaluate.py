"""``synthesize.py evaluate`` end to end (subprocess): the table, ``--json`` as one object, one-line errors."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from texnet.audio import save_wav

ROOT = Path(__file__).resolve().parent.parent
SR = 22050


def run(*args):
    return subprocess.run([sys.executable, "synthesize.py", "evaluate", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def wavs(tmp_path_factory, clip):
    """A 5 s rain reference, two 2 s candidates (rain from the reference's first half, fire), a 3 s
    reference (too short for the ratios), a 6 s one (long enough for the ratio's floor), a too-short file and
    a file that is not audio."""
    d = tmp_path_factory.mktemp("evaluate")
    rain, fire = clip("rain", 6.0), clip("fire", 2.0)
    paths = {"ref": d / "ref.wav", "rain": d / "rain.wav", "fire": d / "fire.wav", "ref3": d / "ref3.wav",
             "ref6": d / "ref6.wav", "short": d / "short.wav", "junk": d / "junk.wav"}
    save_wav(paths["ref"], rain[: 5 * SR], SR)
    save_wav(paths["ref6"], rain, SR)
    save_wav(paths["rain"], rain[: 2 * SR], SR)
    save_wav(paths["fire"], fire, SR)
    save_wav(paths["ref3"], rain[: 3 * SR], SR)
    save_wav(paths["short"], rain[:2000], SR)
    paths["junk"].write_text("this is not a sound file\n")
    return paths


def test_table_with_two_candidates(wavs):
    r = run(wavs["ref"], wavs["rain"], wavs["fire"])
    assert r.returncode == 0, r.stderr
    out = r.stdout
    for label in ("texture statistics distance", "kurtosis", "score (mean of the groups)", "texture ratio",
                  "copy score", "held-out style distance", "spectral lines", "diversity (candidate 1 vs candidate 2)",
                  "assume each candidate was made from the reference's first half"):
        assert label in out, label
    assert "candidate 1" in out and "candidate 2" in out


def test_json_is_one_object_with_the_expected_keys(wavs):
    r = run(wavs["ref"], wavs["rain"], wavs["fire"], "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)  # the whole of stdout is one JSON document
    assert set(report) >= {"reference", "sample_rate", "candidates", "diversity", "notes"}
    assert report["reference"]["path"] == str(wavs["ref"]) and len(report["candidates"]) == 2
    rain, fire = report["candidates"]
    for c in (rain, fire):
        assert set(c) >= {"path", "seconds", "texture_distance", "texture_ratio", "copy_score", "heldout_style",
                          "heldout_style_ratio", "spectral_lines"}
        assert c["spectral_lines"]["count"] >= 0 and c["spectral_lines"]["ripple_db"] > 0
        assert set(c["texture_distance"]) == {"mean", "cv", "skew", "kurtosis", "corr", "mod", "score"}
        assert {"ratio", "distance", "baseline"} <= set(c["texture_ratio"])
    # an excerpt of the reference copies it; the fire is further from the rain by every measure
    assert rain["copy_score"]["mean"] > 0.99 > 0.5 > fire["copy_score"]["mean"]
    assert rain["texture_ratio"]["ratio"] < fire["texture_ratio"]["ratio"]
    assert rain["heldout_style"]["distance"] < fire["heldout_style"]["distance"]
    assert report["reference"]["spectral_lines"]["count"] == 0  # the bundled rain has no steady tone
    assert 0.5 < report["diversity"] <= 1.0


def in_process(capsys, *args):
    """The same command through ``texnet.cli.main`` in this process (no interpreter start-up)."""
    from texnet.cli import main

    rc = main(["evaluate", *map(str, args)])
    out, err = capsys.readouterr()
    return rc, out, err


def test_short_reference_has_no_ratios(wavs, capsys):
    rc, out, err = in_process(capsys, wavs["ref3"], wavs["rain"], "--json")
    assert rc == 0, err
    report = json.loads(out)
    c = report["candidates"][0]
    assert c["texture_ratio"] is None and c["heldout_style_ratio"] is None and report["diversity"] is None
    assert any("shorter than" in n for n in report["notes"])


def test_the_ratios_floor_for_a_long_enough_reference(wavs, capsys):
    """A reference of four quarters of at least 1.5 s gets the floor of its texture ratio, in the table and the
    JSON; a shorter one none."""
    rc, out, err = in_process(capsys, wavs["ref6"], wavs["rain"])
    assert rc == 0, err
    assert "a perfect generator of the 1st half that varies like the recording: about 1." in out
    rc, out, err = in_process(capsys, wavs["ref6"], wavs["rain"], "--json")
    floor = json.loads(out)["reference"]["ratio_floor"]
    assert floor["own_variation"] > floor["independent"] > 0.5
    rc, out, err = in_process(capsys, wavs["ref"], wavs["rain"], "--json")
    assert json.loads(out)["reference"]["ratio_floor"] is None


def test_bad_audio_is_one_line_exit_2(wavs):
    r = run(wavs["ref"], wavs["short"], "--json")
    assert r.returncode == 2
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("synthesize.py: error:"), r.stderr
    assert str(wavs["short"]) in lines[0] and "too short" in lines[0]


@pytest.mark.parametrize("bad,needle", [("junk", "not a readable audio file"), ("missing", "no such file"),
                                        ("three", "one or two")])
def test_other_bad_inputs_are_one_line_exit_2(wavs, tmp_path, capsys, bad, needle):
    args = {"junk": [wavs["ref"], wavs["junk"]], "missing": [tmp_path / "missing.wav", wavs["rain"]],
            "three": [wavs["ref"], wavs["rain"], wavs["rain"], wavs["rain"]]}[bad]
    rc, out, err = in_process(capsys, *args, "--json")
    assert rc == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("synthesize.py: error:") and needle in lines[0], err
