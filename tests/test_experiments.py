"""texnet.experiments: the helpers the bench scripts share (pure functions, short synthetic audio)."""
from __future__ import annotations

import math
import sys

import pytest
import torch

from texnet import experiments as X

SR = 22050


def noise(seconds: float, seed: int) -> torch.Tensor:
    return 0.1 * torch.randn(int(seconds * SR), generator=torch.Generator().manual_seed(seed))


def test_halves():
    clip = torch.arange(11.0)
    assert X.split(clip) == 5
    assert torch.equal(X.first_half(clip), clip[:5])
    assert X.split(clip, holdout=0.7) == 3


def test_replace_section_between_markers_keeps_the_rest():
    text = "# R\n\n## Ours\n\n<!-- a -->\nold\n<!-- b -->\n\n## Theirs\n\nkept\n"
    out = X.replace_section(text, "new", "## Ours", "<!-- a -->", "<!-- b -->")
    assert out == "# R\n\n## Ours\n\n<!-- a -->\nnew\n<!-- b -->\n\n## Theirs\n\nkept\n"


def test_replace_section_recovers_a_lost_start_marker():
    text = "## Ours\n\nrewritten by someone\nold\n<!-- b -->\ntail\n"
    out = X.replace_section(text, "new", "## Ours", "<!-- a -->", "<!-- b -->")
    assert out == "## Ours\n\n<!-- a -->\nnew\n<!-- b -->\ntail\n"


def test_replace_section_by_heading_stops_at_the_next_heading():
    text = "# R\n\n## Streaming\n\nold table\n\n### sub\nold\n\n## Other\n\nkept\n"
    out = X.replace_section(text, "new table\n", "## Streaming")
    assert out == "# R\n\n## Streaming\n\nnew table\n\n## Other\n\nkept\n"
    # the last section runs to the end of the file
    assert X.replace_section("# R\n\n## Streaming\n\nold\n", "new", "## Streaming") == "# R\n\n## Streaming\n\nnew\n"


def test_replace_section_appends_a_missing_section():
    assert X.replace_section("# R\n\nintro\n", "body", "## New", "<a>", "<b>") == \
        "# R\n\nintro\n\n## New\n\n<a>\nbody\n<b>\n"
    assert X.replace_section("", "body", "## New").startswith("# Benchmark results\n\n## New\n\nbody")


def test_write_section_rewrites_only_its_block(tmp_path):
    path = tmp_path / "RESULTS.md"
    X.write_section(path, "one", "## A", "<a>", "<b>")
    X.write_section(path, "two", "## B")
    X.write_section(path, "three", "## A", "<a>", "<b>")
    text = path.read_text()
    assert "three" in text and "two" in text and "one" not in text
    assert text.index("## A") < text.index("## B")
    assert [p.name for p in tmp_path.iterdir()] == ["RESULTS.md"]  # no temporary file left


def test_markdown_table_and_fmt():
    assert X.markdown_table(["a", "b"], [[1, "x"], [2.5, "-"]]) == "| a | b |\n|---|---|\n| 1 | x |\n| 2.5 | - |"
    assert X.fmt(1.234) == "1.23"
    assert X.fmt(12.0, "{:.0f}") == "12"
    assert X.fmt(None) == "-"
    assert X.fmt(math.nan) == "-"
    assert math.isnan(X.mean([]))
    assert X.mean([1, 2, 6]) == 3


def test_generate_loops_over_seeds():
    class Fake:
        calls = []

        def generate(self, seconds, seed=0):
            self.calls.append(seed)
            return torch.full((int(seconds * 10),), float(seed))

    fake = Fake()
    waves = X.generate(fake, 0.5, range(2, 5))
    assert fake.calls == [2, 3, 4]
    assert [float(w[0]) for w in waves] == [2.0, 3.0, 4.0]
    assert all(w.shape == (5,) for w in waves)


def _ratio(r):
    return {"ratio": r, "distance": r, "baseline": 1.0, **{f"ratio_{g}": r * (i + 1) for i, g in enumerate(X.STAT_GROUPS)}}


def test_summarise_means_over_candidates_and_extra_seeds():
    cand = [{"texture_ratio": _ratio(r), "heldout_style_ratio": {"ratio": h}, "copy_score": {"mean": c, "max": 1.0},
             "spectral_lines": {"count": n}} for r, h, c, n in ((1.0, 2.0, 0.1, 1), (2.0, 4.0, 0.3, 3))]
    report = {"candidates": cand, "diversity": 0.9,
              "reference": {"spectral_lines": {"count": 5}, "ratio_floor": {"independent": 1.0, "own_variation": 1.2}}}
    s = X.summarise(report, [_ratio(6.0)])
    assert s["texture_ratio"] == pytest.approx(3.0)
    assert s["texture_ratio_seeds"] == [1.0, 2.0, 6.0]
    assert s["groups"]["cv"] == pytest.approx(6.0)
    assert s["heldout_style_ratio"] == pytest.approx(3.0)
    assert s["copy_score"] == pytest.approx(0.2)
    assert (s["diversity"], s["spectral_lines"], s["spectral_lines_reference"]) == (0.9, 2, 5)
    assert s["ratio_floor"] == 1.2
    report["reference"]["ratio_floor"] = None  # a clip too short for the floor
    assert X.summarise(report)["ratio_floor"] is None


def test_copy_scores_tell_a_copy_from_an_independent_excerpt():
    clip = noise(6.0, 0)
    start = 80 * 256  # frame-aligned (hop 256): a verbatim copy
    assert X.copy_to_first_half(clip, X.first_half(clip)[start: start + 2 * SR])["mean"] > 0.99
    indep = X.independent_copy(clip, 2.0, SR)
    assert 0.0 < indep < 0.5
    assert X.copy_to_first_half(clip, noise(2.0, 1))["mean"] < 0.5


def test_train_command(tmp_path):
    cmd = X.train_command("configs/x.yaml", tmp_path / "run", 7, "rain", 2, ["--trainer.max_steps", "9"])
    assert cmd[:2] == [sys.executable, str(X.ROOT / "train.py")]
    joined = " ".join(cmd)
    assert "--config configs/x.yaml" in joined and f"--out {tmp_path / 'run'}" in joined
    assert f"--data.audio [{X.clip_path('rain')}]" in joined and "--threads 2" in joined
    assert "--samples.every_n_steps 0" in joined and "--data.holdout 0.5" in joined
    assert cmd[-2:] == ["--trainer.max_steps", "9"]  # extra arguments come last, so they win
    plain = X.train_command("c.yaml", "o", 1, threads=None, samples=True, script="other.py")
    assert plain[1] == "other.py" and "--threads" not in plain and "--data.audio" not in plain
    assert "--samples.every_n_steps" not in plain


def test_run_jobs_order_failures_and_reuse(tmp_path):
    py = sys.executable
    done = tmp_path / "done.txt"
    done.write_text("")
    jobs = [X.Job("ok", [py, "-c", "print('hi')"], tmp_path / "ok.log"),
            X.Job("bad", [py, "-c", "raise SystemExit(3)"], tmp_path / "bad.log"),
            X.Job("after bad", [py, "-c", "pass"], tmp_path / "after.log", deps=("bad",)),
            X.Job("after ok", [py, "-c", "pass"], tmp_path / "after_ok.log", deps=("ok",)),
            X.Job("reused", [py, "-c", "raise SystemExit(1)"], tmp_path / "reused.log", done_file=done)]
    lines = []
    walls = X.run_jobs(jobs, 2, echo=lines.append)
    rc = {j.name: j.rc for j in jobs}
    assert rc == {"ok": 0, "bad": 3, "after bad": -1, "after ok": 0, "reused": 0}
    assert sorted(walls) == ["after ok", "ok"]  # jobs that ran and succeeded; reused ones keep no time
    assert (tmp_path / "ok.log").read_text().strip() == "hi"
    assert any("skipped" in line for line in lines)
    with pytest.raises(SystemExit, match="bad"):
        X.run_jobs([X.Job("bad", [py, "-c", "raise SystemExit(2)"], tmp_path / "b2.log")], 1, check=True,
                   echo=lambda s: None)


def test_time_blocks_counts_audio_and_latency():
    calls = []

    def read():
        calls.append(1)
        return torch.zeros(441)

    r = X.time_blocks(read, seconds=0.5, sample_rate=SR, warmup=2)
    assert r["blocks"] == 25 and len(calls) == 27  # 25 timed blocks of 20 ms after the warm-up
    assert r["block_samples"] == 441 and r["audio_s"] == pytest.approx(25 * 441 / SR)
    assert 0 <= r["cpu_ms_mean"] <= r["cpu_ms_p99"] <= r["cpu_ms_max"] and r["rtf_cpu"] > 0
