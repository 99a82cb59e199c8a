#!/usr/bin/env python
"""Phase-free (waveform) generator against the magnitude generator + Griffin-Lim, side by side.

    python bench/bench_phase_free.py                                   # rain fire stream insects, 400 steps
    python bench/bench_phase_free.py --textures rain --steps 100 --out /tmp/pf
    python bench/bench_phase_free.py --reuse --results bench/RESULTS.md  # evaluate finished runs, write table

For each texture both recipes are trained by ``train.py`` on the FIRST half of ``data/<texture>.ogg``
(``--magnitude-config`` and ``--waveform-config``, default the two quickstarts, with the texture's clip
and ``--steps``), then each checkpoint makes ``--seconds`` of texture from seeds 0 and 1 and is judged by
:func:`texnet.evaluation.evaluate` against the clip: texture-statistics ratio to the unseen second half
(1.0 = as close as the recording is to itself), held-out descriptor ratio, copy score, diversity of the
two seeds. Also printed:

- spectral convergence of the final audio against what the objective judged: for the magnitude generator
  the spectrogram it emitted vs the spectrogram of its Griffin-Lim audio; for the waveform generator the
  objective judged the spectrogram of the audio itself (exact), and the consistency of its emitted STFT
  frames with that audio is shown instead;
- the real-time factor of making 60 s end to end in one process (generator forward pass + inverse
  (one istft, or Griffin-Lim) + writing the WAV; median of ``--repeats``, ``--threads`` torch threads,
  checkpoint already loaded) and of the whole ``synthesize.py generate`` command (Python start-up included).

Trainings run ``--jobs`` at a time (their timings then overlap, which is why the real-time factors are
measured afterwards, alone).
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from texnet import experiments as X
from texnet.audio import save_wav
from texnet.inference import load_generator
from texnet.metrics import spectral_convergence

MARK_START, MARK_END = "<!-- phase_free:start -->", "<!-- phase_free:end -->"
HEADING = "## Phase-free vs magnitude generator (`bench/bench_phase_free.py`)"
KINDS = ("magnitude", "waveform")


def run_dir(args, texture: str, kind: str) -> Path:
    return Path(args.out) / f"{texture}_{kind}"


def train_all(args) -> dict[str, float]:
    """Train every (texture, kind) not already finished; returns wall seconds per run."""
    jobs = []
    for t in args.textures:
        for k in KINDS:
            d = run_dir(args, t, k)
            config = args.magnitude_config if k == "magnitude" else args.waveform_config
            jobs.append(X.Job(f"{t}_{k}", X.train_command(config, d, args.steps, t, args.threads), d / "train.log",
                              done_file=(d / "last.ckpt") if args.reuse else None))
    return X.run_jobs(jobs, args.jobs, args.threads, check=True)


def evaluate_run(args, texture: str, kind: str) -> dict:
    torch.set_num_threads(args.threads)
    d = run_dir(args, texture, kind)
    gen = load_generator(d / "last.ckpt")
    fe = gen.frontend
    clip = X.load_clip(texture, fe.sample_rate)
    waves, sc = [], []
    with torch.no_grad():
        for seed in (0, 1):
            out = gen.generate_spec(args.seconds, seed=seed)
            wave = gen.invert(out, seed=seed)
            heard = fe.magnitude(wave[None])
            emitted = out.abs()[None] if out.is_complex() else fe.to_magnitude(out)[None]
            sc.append(float(spectral_convergence(emitted, heard)))
            waves.append(wave)
            save_wav(d / f"seed{seed}.wav", wave, fe.sample_rate, overwrite=True)
    verdict = X.judge(clip, waves, fe.sample_rate)
    # 60 s end to end inside one process, generator loaded: forward + inverse + WAV
    rtf = []
    for i in range(args.repeats):
        t0 = time.perf_counter()
        w = gen.generate(args.rtf_seconds, seed=100 + i)
        save_wav(d / "rtf.wav", w, fe.sample_rate, overwrite=True)
        rtf.append(time.perf_counter() - t0)
    rtf_parts = {"forward_s": gen.timings.forward, "inverse_s": gen.timings.inversion}
    # the whole command, Python start-up and imports included
    t0 = time.perf_counter()
    subprocess.run([sys.executable, str(X.ROOT / "synthesize.py"), "generate", "--ckpt", str(d / "last.ckpt"),
                    "--seconds", str(args.rtf_seconds), "--out", str(d / "cli.wav"), "--overwrite"],
                   check=True, capture_output=True, env=X.job_env(args.threads), cwd=X.ROOT)
    cli_s = time.perf_counter() - t0
    return {
        "texture": texture, "kind": kind, **verdict,
        "sc_objective_db": None if kind == "waveform" else statistics.mean(sc),
        "sc_emitted_db": statistics.mean(sc),
        "make_60s_s": statistics.median(rtf), "rtf_60s": args.rtf_seconds / statistics.median(rtf),
        **rtf_parts, "cli_60s_s": cli_s, "cli_rtf_60s": args.rtf_seconds / cli_s,
    }


def table(rows: list[dict], args, walls: dict) -> str:
    f = X.fmt
    head = (f"{len(args.textures)} textures, {args.steps} training steps each, {args.seconds:g} s per seed "
            f"(seeds 0, 1); `{args.magnitude_config}` vs `{args.waveform_config}`; CPU, {args.threads} torch "
            "thread(s).")
    body = []
    for r in rows:
        sc = "exact (judged its audio)" if r["kind"] == "waveform" else f(r["sc_objective_db"], "{:.1f}")
        body.append([r["texture"], r["kind"], f(r["texture_ratio"]), f(r["heldout_style_ratio"]),
                     f"{f(r['copy_score'])} ({f(r['independent_copy'])})", f(r["diversity"]), sc,
                     f"{f(r['make_60s_s'], '{:.3f}')} ({f(r['rtf_60s'], '{:.0f}')}x)",
                     f"{f(r['cli_60s_s'], '{:.1f}')} ({f(r['cli_rtf_60s'], '{:.0f}')}x)",
                     f(walls.get(r["texture"] + "_" + r["kind"]), "{:.0f}")])
    means = {k: X.mean(r["texture_ratio"] for r in rows if r["kind"] == k) for k in KINDS
             if any(r["kind"] == k for r in rows)}
    return "\n".join([head, "", X.markdown_table(
        ["texture", "generator", "texture ratio", "held-out style ratio", "copy (independent)", "diversity",
         "SC vs objective dB", "60 s made in s (x real time)", "CLI 60 s (x real time)", "train s"], body),
        "", "Mean texture ratio: " + ", ".join(f"{k} {v:.2f}" for k, v in means.items())])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--textures", nargs="+", default=["rain", "fire", "stream", "insects"])
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--magnitude-config", default="configs/quickstart.yaml")
    p.add_argument("--waveform-config", default="configs/quickstart_waveform.yaml")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--rtf-seconds", type=float, default=60.0)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--out", default="runs/phase_free")
    p.add_argument("--reuse", action="store_true", help="keep finished trainings found in --out")
    p.add_argument("--results", help="write the table into this markdown file (between markers)")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    walls = train_all(args)
    prev = out / "phase_free.json"
    if prev.is_file():  # keep the training times of reused runs
        walls = {**json.loads(prev.read_text()).get("train_s", {}), **walls}
    rows = []
    for t in args.textures:
        ind = X.independent_copy(X.load_clip(t), args.seconds)
        for k in KINDS:
            r = evaluate_run(args, t, k)
            r["independent_copy"] = ind
            rows.append(r)
            print(f"{t:8s} {k:9s} ratio {r['texture_ratio']:.2f}  60 s in {r['make_60s_s']:.3f} s "
                  f"({r['rtf_60s']:.0f}x)", flush=True)
    block = table(rows, args, walls)
    print("\n" + block)
    prev.write_text(json.dumps({"rows": rows, "train_s": walls, "args": vars(args)}, indent=1))
    if args.results:
        X.write_section(args.results, block, HEADING, MARK_START, MARK_END)
    return 0


if __name__ == "__main__":
    sys.exit(main())
