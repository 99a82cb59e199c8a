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

Trainings run one after another unless ``--jobs 2`` (halves the wall time on two cores; timings of the
trainings then overlap, which is why the real-time factors are measured afterwards, alone).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MARK_START, MARK_END = "<!-- phase_free:start -->", "<!-- phase_free:end -->"
KINDS = ("magnitude", "waveform")


def train_cmd(args, texture: str, kind: str) -> list[str]:
    config = args.magnitude_config if kind == "magnitude" else args.waveform_config
    return [sys.executable, str(ROOT / "train.py"), "--config", config, "--out", str(run_dir(args, texture, kind)),
            "--data.audio", f"[{ROOT / 'data' / f'{texture}.ogg'}]", "--trainer.max_steps", str(args.steps),
            "--trainer.enable_progress_bar", "false", "--compare.enabled", "false",
            "--samples.every_n_steps", "0", "--wandb", "off", "--threads", str(args.threads)]


def run_dir(args, texture: str, kind: str) -> Path:
    return Path(args.out) / f"{texture}_{kind}"


def run_jobs(jobs: list[tuple[str, list[str], Path]], parallel: int, env: dict) -> dict[str, float]:
    """Run ``(name, command, log file)`` jobs, ``parallel`` at a time; returns wall seconds per name."""
    pending, running, walls = list(jobs), [], {}
    while pending or running:
        while pending and len(running) < parallel:
            name, cmd, log_path = pending.pop(0)
            log_path.parent.mkdir(parents=True, exist_ok=True)
            log = open(log_path, "w")
            running.append((name, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT),
                            time.perf_counter()))
        time.sleep(2)
        for item in list(running):
            name, proc, t0 = item
            if proc.poll() is not None:
                running.remove(item)
                if proc.returncode != 0:
                    raise SystemExit(f"job {name} failed (exit {proc.returncode}); see its log")
                walls[name] = time.perf_counter() - t0
                print(f"  {name} done in {walls[name]:.0f} s", flush=True)
    return walls


def train_all(args) -> dict[str, float]:
    """Train every (texture, kind) not already finished; returns wall seconds per run."""
    pending = [(t, k) for t in args.textures for k in KINDS
               if not (args.reuse and (run_dir(args, t, k) / "last.ckpt").is_file())]
    for t, k in pending:
        print(f"training {t} {k} ({args.steps} steps)", flush=True)
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    return run_jobs([(f"{t}_{k}", train_cmd(args, t, k), run_dir(args, t, k) / "train.log") for t, k in pending],
                    args.jobs, env)


def evaluate_run(args, texture: str, kind: str) -> dict:
    import torch

    from texnet.audio import load_audio, save_wav
    from texnet.evaluation import evaluate
    from texnet.inference import load_generator
    from texnet.metrics import spectral_convergence

    torch.set_num_threads(args.threads)
    d = run_dir(args, texture, kind)
    gen = load_generator(d / "last.ckpt")
    fe = gen.frontend
    clip = load_audio(ROOT / "data" / f"{texture}.ogg", fe.sample_rate)
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
    report = evaluate(clip, waves, fe.sample_rate)
    c = report["candidates"]
    # 60 s end to end inside one process, generator loaded: forward + inverse + WAV
    rtf = []
    for i in range(args.repeats):
        t0 = time.perf_counter()
        w = gen.generate(args.rtf_seconds, seed=100 + i)
        save_wav(d / "rtf.wav", w, fe.sample_rate, overwrite=True)
        rtf.append(time.perf_counter() - t0)
    rtf_parts = {"forward_s": gen.timings.forward, "inverse_s": gen.timings.inversion}
    # the whole command, Python start-up and imports included
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "synthesize.py"), "generate", "--ckpt", str(d / "last.ckpt"),
                    "--seconds", str(args.rtf_seconds), "--out", str(d / "cli.wav"), "--overwrite"],
                   check=True, capture_output=True, env=env, cwd=ROOT)
    cli_s = time.perf_counter() - t0
    return {
        "texture": texture, "kind": kind,
        "texture_ratio": statistics.mean(x["texture_ratio"]["ratio"] for x in c),
        "texture_ratio_groups": {g: statistics.mean(x["texture_ratio"][f"ratio_{g}"] for x in c)
                                 for g in ("mean", "cv", "skew", "kurtosis", "corr", "mod")},
        "heldout_style_ratio": statistics.mean(x["heldout_style_ratio"]["ratio"] for x in c),
        "copy_score": statistics.mean(x["copy_score"]["mean"] for x in c),
        "diversity": report["diversity"],
        "sc_objective_db": None if kind == "waveform" else statistics.mean(sc),
        "sc_emitted_db": statistics.mean(sc),
        "make_60s_s": statistics.median(rtf), "rtf_60s": args.rtf_seconds / statistics.median(rtf),
        **rtf_parts, "cli_60s_s": cli_s, "cli_rtf_60s": args.rtf_seconds / cli_s,
    }


def independent_copy(texture: str, seconds: float) -> float:
    """Copy score of the clip's own unseen half against the whole clip's first half: the level of an
    independent excerpt of the same recording."""
    from texnet.audio import load_audio
    from texnet.frontends import STFTFrontend
    from texnet.metrics import copy_score

    fe = STFTFrontend()
    clip = load_audio(ROOT / "data" / f"{texture}.ogg", fe.sample_rate)
    h = clip.shape[-1] // 2
    n = int(seconds * fe.sample_rate)
    return copy_score(fe(clip[:h])[0], fe(clip[h:h + n])[0])["mean"]


def table(rows: list[dict], args, walls: dict) -> str:
    def f(v, fmt="{:.2f}"):
        return "-" if v is None else fmt.format(v)

    lines = [f"{len(args.textures)} textures, {args.steps} training steps each, {args.seconds:g} s per seed (seeds 0, 1); "
             f"`{args.magnitude_config}` vs `{args.waveform_config}`; CPU, {args.threads} torch thread(s).", "",
             "| texture | generator | texture ratio | held-out style ratio | copy (independent) | diversity | "
             "SC vs objective dB | 60 s made in s (x real time) | CLI 60 s (x real time) | train s |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        sc = "exact (judged its audio)" if r["kind"] == "waveform" else f(r["sc_objective_db"], "{:.1f}")
        lines.append(
            f"| {r['texture']} | {r['kind']} | {f(r['texture_ratio'])} | {f(r['heldout_style_ratio'])} | "
            f"{f(r['copy_score'])} ({f(r['independent_copy'])}) | {f(r['diversity'])} | {sc} | "
            f"{f(r['make_60s_s'], '{:.3f}')} ({f(r['rtf_60s'], '{:.0f}')}x) | "
            f"{f(r['cli_60s_s'], '{:.1f}')} ({f(r['cli_rtf_60s'], '{:.0f}')}x) | "
            f"{f(walls.get(r['texture'] + '_' + r['kind']), '{:.0f}')} |")
    means = {k: statistics.mean(r["texture_ratio"] for r in rows if r["kind"] == k) for k in KINDS
             if any(r["kind"] == k for r in rows)}
    lines += ["", "Mean texture ratio: " + ", ".join(f"{k} {v:.2f}" for k, v in means.items())]
    return "\n".join(lines)


def write_results(path: Path, block: str, start: str = MARK_START, end: str = MARK_END,
                  heading: str = "## Phase-free vs magnitude generator (`bench/bench_phase_free.py`)") -> None:
    """Put ``block`` between the ``start``/``end`` markers of ``path`` (a new ``heading`` section if absent)."""
    text = path.read_text() if path.is_file() else ""
    body = f"{start}\n{block}\n{end}"
    if start in text and end in text:
        text = text[: text.index(start)] + body + text[text.index(end) + len(end):]
    else:
        text = text.rstrip() + f"\n\n{heading}\n\n" + body + "\n"
    path.write_text(text)


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
        ind = independent_copy(t, args.seconds)
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
        write_results(Path(args.results), block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
