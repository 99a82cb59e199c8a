#!/usr/bin/env python
"""Making a texture: the optimisation baseline against a trained generator, side by side, in one run.

    python bench/bench_generation.py --ckpt runs/quickstart/last.ckpt --audio data/rain.ogg
    python bench/bench_generation.py --ckpt runs/x/last.ckpt --audio data/fire.ogg --lengths 5 --rtf-lengths 60 \
        --json out.json

For each output length in ``--lengths`` (default 5 s and 60 s) the baseline (L-BFGS in the generator's
domain: a spectrogram for a magnitude generator, the audio for a waveform one; the generator's own
descriptor and objective, target = ``--audio`` but its last ``--holdout``,
as in training) and the generator make the same length of texture; printed are the baseline's wall time
to reach its final loss, the generator's forward pass, both with and without phase retrieval
(Griffin-Lim, the checkpoint's iterations), the losses both reach, and their ratios. Then the real-time
factor of generator + inversion for ``--rtf-lengths`` (default 60 s and 600 s).

Every case runs in a fresh Python process so that its peak memory can be read from the kernel
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``: peak resident set size, everything torch allocates
included, which ``tracemalloc`` cannot see); "extra" is the peak minus the resident size after imports,
loading and target set-up. Time is wall-clock time (``time.perf_counter``) on the process's torch
threads (``--threads``, default 1); on a shared machine, read ratios rather than absolute times.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from texnet import experiments as X


def _rss_mb() -> float:
    """Current resident set size (MB) from /proc/self/statm."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return float("nan")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _setup(args):
    """Generator, its front end and objective (targets from the training part of the audio)."""
    import torch

    from texnet.audio import load_audio
    from texnet.inference import load_generator

    torch.set_num_threads(args.threads)
    gen = load_generator(args.ckpt)
    objective = X.objective_for_generator(gen)
    wave = load_audio(args.audio, gen.sample_rate)
    target = wave[: X.split(wave, args.holdout)]
    objective.set_targets([target])
    return gen, gen.frontend, objective, target


def run_case(args) -> dict:
    """One measurement in this process; returns a JSON-able record."""
    import torch

    gen, fe, objective, target = _setup(args)
    rss0 = _rss_mb()
    rec = {"case": args.case, "seconds": args.seconds, "threads": torch.get_num_threads()}
    if args.case == "baseline":
        # in the generator's domain: a spectrogram (then Griffin-Lim) for a magnitude generator, else the audio
        out = X.baseline(objective, target, args.seconds, max_iter=args.baseline_max_iter, seed=0,
                         time_budget=args.baseline_time_budget)
        r = out.result
        best = min(range(len(r.losses)), key=lambda i: r.losses[i])
        rec.update({"loss": r.style_loss, "evaluations": len(r.losses), "stop_reason": r.stop_reason,
                    "optimise_s": r.wall_time, "to_final_loss_s": r.times[best], "inversion_s": out.inversion_time,
                    "losses": r.losses, "times": r.times})
    else:
        with torch.no_grad():
            t0 = time.perf_counter()
            spec = gen.generate_spec(args.seconds, seed=0)
            t_fwd = time.perf_counter() - t0
            t0 = time.perf_counter()
            wave = gen.invert(spec, seed=0)
            t_inv = time.perf_counter() - t0
            loss = objective.spec_style(spec) if args.seconds <= 120 and not spec.is_complex() else None
        rec.update({"loss": loss, "forward_s": t_fwd, "inversion_s": t_inv, "audio_s": wave.shape[-1] / fe.sample_rate})
    rec.update({"setup_rss_mb": rss0, "peak_rss_mb": _peak_mb(), "extra_mb": _peak_mb() - rss0})
    return rec


def _child(args, case: str, seconds: float) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--case", case, "--seconds", str(seconds), "--ckpt",
           str(args.ckpt), "--audio", str(args.audio), "--holdout", str(args.holdout), "--threads",
           str(args.threads)]
    if args.baseline_max_iter is not None:
        cmd += ["--baseline-max-iter", str(args.baseline_max_iter)]
    if args.baseline_time_budget is not None:
        cmd += ["--baseline-time-budget", str(args.baseline_time_budget)]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=X.ROOT)
    if r.returncode != 0:
        raise SystemExit(f"bench_generation: case {case} {seconds} s failed:\n{r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def _first_time_below(rec: dict, level: float | None) -> float | None:
    if level is None or not math.isfinite(level):
        return None
    for loss, t in zip(rec["losses"], rec["times"]):
        if loss <= level:
            return t
    return None


def summarise(results: dict) -> dict:
    """Side-by-side rows and ratios from the per-case records."""
    rows = []
    for secs in results["lengths"]:
        b, g = results["baseline"][str(secs)], results["generator"][str(secs)]
        reach = _first_time_below(b, g["loss"])
        rows.append({
            "seconds": secs,
            "baseline_to_final_loss_s": b["to_final_loss_s"], "baseline_optimise_s": b["optimise_s"],
            "baseline_inversion_s": b["inversion_s"], "baseline_loss": b["loss"],
            "baseline_evaluations": b["evaluations"],
            "baseline_stop": b["stop_reason"], "baseline_to_generator_loss_s": reach,
            "generator_forward_s": g["forward_s"], "generator_inversion_s": g["inversion_s"],
            "generator_loss": g["loss"],
            "ratio_without_inversion": b["to_final_loss_s"] / max(g["forward_s"], 1e-9),
            "ratio_with_inversion": (b["to_final_loss_s"] + b["inversion_s"])
            / max(g["forward_s"] + g["inversion_s"], 1e-9),
            "baseline_peak_rss_mb": b["peak_rss_mb"], "baseline_extra_mb": b["extra_mb"],
            "generator_peak_rss_mb": g["peak_rss_mb"], "generator_extra_mb": g["extra_mb"],
        })
    rtf = []
    for secs in results["rtf_lengths"]:
        g = results["generator"][str(secs)]
        total = g["forward_s"] + g["inversion_s"]
        rtf.append({"seconds": secs, "forward_s": g["forward_s"], "inversion_s": g["inversion_s"],
                    "rtf": total / g["audio_s"], "x_realtime": g["audio_s"] / max(total, 1e-9),
                    "peak_rss_mb": g["peak_rss_mb"], "extra_mb": g["extra_mb"]})
    return {"side_by_side": rows, "realtime": rtf}


def print_summary(summary: dict, header: str) -> None:
    print(header)
    print("\n| output | baseline: to final loss (s) | + inversion (s) | generator: forward (s) | + inversion (s) "
          "| ratio w/o inversion | ratio with inversion | style loss baseline / generator "
          "| baseline reaches generator's loss at (s) "
          "| peak RSS baseline / generator (MB) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in summary["side_by_side"]:
        print(f"| {r['seconds']:g} s | {r['baseline_to_final_loss_s']:.1f} ({r['baseline_evaluations']} evals, "
              f"{r['baseline_stop']}) | {r['baseline_to_final_loss_s'] + r['baseline_inversion_s']:.1f} "
              f"| {r['generator_forward_s']:.3f} | {r['generator_forward_s'] + r['generator_inversion_s']:.2f} "
              f"| {r['ratio_without_inversion']:.0f}x | {r['ratio_with_inversion']:.1f}x "
              f"| {X.fmt(r['baseline_loss'], '{:.4f}')} / {X.fmt(r['generator_loss'], '{:.4f}')} "
              f"| {X.fmt(r['baseline_to_generator_loss_s'], '{:.1f}')} "
              f"| {r['baseline_peak_rss_mb']:.0f} / {r['generator_peak_rss_mb']:.0f} |")
    print("\n| generated | forward (s) | inversion (s) | real-time factor | x real time | peak RSS (MB) "
          "| extra over set-up (MB) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in summary["realtime"]:
        print(f"| {r['seconds']:g} s | {r['forward_s']:.2f} | {r['inversion_s']:.1f} | {r['rtf']:.3f} "
              f"| {r['x_realtime']:.1f} | {r['peak_rss_mb']:.0f} | {r['extra_mb']:.0f} |")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ckpt", default="runs/quickstart/last.ckpt", help="trained texture generator checkpoint")
    p.add_argument("--audio", default="data/rain.ogg", help="the recording the generator was trained on")
    p.add_argument("--holdout", type=float, default=0.5, help="the baseline's target is the clip but this last part")
    p.add_argument("--lengths", type=float, nargs="+", default=[5.0, 60.0], help="side-by-side output lengths (s)")
    p.add_argument("--rtf-lengths", type=float, nargs="+", default=[60.0, 600.0], help="real-time factor lengths (s)")
    p.add_argument("--baseline-max-iter", type=int, default=None, help="baseline objective evaluations (default: "
                   "the baseline's default budget, as the training comparison)")
    p.add_argument("--baseline-time-budget", type=float, default=180.0, help="cap on one baseline run (s)")
    p.add_argument("--threads", type=int, default=1, help="torch threads per case (default 1)")
    p.add_argument("--json", help="also write the records and summary here")
    p.add_argument("--case", choices=["baseline", "generator"], help=argparse.SUPPRESS)
    p.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.case:
        print(json.dumps(run_case(args)))
        return 0
    if not Path(args.ckpt).is_file():
        raise SystemExit(f"bench_generation: {args.ckpt}: no such checkpoint (train one first, e.g. "
                         "python train.py --config configs/quickstart.yaml --out runs/quickstart)")
    import torch

    results = {"lengths": args.lengths, "rtf_lengths": args.rtf_lengths, "baseline": {}, "generator": {},
               "ckpt": str(args.ckpt), "audio": str(args.audio), "threads": args.threads,
               "torch": torch.__version__}
    t0 = time.perf_counter()
    for secs in args.lengths:
        results["baseline"][str(secs)] = _child(args, "baseline", secs)
    for secs in sorted(set(args.lengths) | set(args.rtf_lengths)):
        results["generator"][str(secs)] = _child(args, "generator", secs)
    results["summary"] = summarise(results)
    results["wall_s"] = time.perf_counter() - t0
    print_summary(results["summary"], f"# generation: baseline vs generator, {args.audio}, {args.ckpt}, "
                                      f"{args.threads} torch thread(s), torch {torch.__version__}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
