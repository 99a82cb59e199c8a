#!/usr/bin/env python
"""Every benchmark in one command: generator vs baseline on the bundled textures, speed, throughput.

    python bench/run_all.py                 # rain, fire, stream, insects
    python bench/run_all.py --full          # all seven bundled textures
    python bench/run_all.py --steps 1000 --out runs/bench_long

For each clip: train a short generator with ``train.py`` (through ``bench/step_clock.py``, which is
train.py plus a per-step clock; ``--wandb off``, ``--data.holdout 0.5``: the first half is the target,
the second half is never seen), run the optimisation baseline on the same first half with the same
front end, descriptor and objective, make ``--seconds`` of audio with both, and judge both against the
unseen second half (:func:`texnet.evaluation.evaluate`) and against every bundled texture. Then ``bench/bench_generation.py`` (on
the first clip's generator) and ``bench/bench_training.py``. Jobs run ``--jobs`` at a time (default 2,
one per core) with ``--threads`` torch threads each (default 1).

Writes ``bench/RESULTS.md`` (only between ``<!-- run_all:start -->`` and ``<!-- run_all:end -->``:
sections other people add to the file are kept) and ``bench/loss_vs_time.png``,
``bench/metrics_per_clip.png``; raw records go to ``--out`` (default ``runs/bench_all``).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

from texnet import experiments as X

ROOT = X.ROOT
BENCH = ROOT / "bench"
# the magnitude generator + Griffin-Lim (the paper's way) on each clip, against the spectrogram baseline
RECIPE = "configs/quickstart.yaml"
DEFAULT_TEXTURES = ("rain", "fire", "stream", "insects")
START, END = "<!-- run_all:start -->", "<!-- run_all:end -->"
HEADING = "## Generator vs baseline on the bundled textures (`bench/run_all.py`)"


# --------------------------------------------------------------------------------------------------
# Jobs (each runs in its own process)
# --------------------------------------------------------------------------------------------------


def objective_for(texture: str):
    """:data:`RECIPE`'s objective with ``data/<texture>.ogg``'s first half as the target, and the clip."""
    obj = X.objective_from_config(ROOT / RECIPE, "spectrogram")
    clip = X.load_clip(texture, obj.frontend.sample_rate)
    obj.set_targets([X.first_half(clip)])
    return obj, clip


def job_baseline(args) -> None:
    """The optimisation baseline on one clip's first half: WAV + loss curve per seed."""
    import torch

    from texnet.audio import save_wav

    torch.set_num_threads(args.threads)
    obj, clip = objective_for(args.texture)
    out = Path(args.out) / args.texture
    out.mkdir(parents=True, exist_ok=True)
    records = []
    for seed in range(args.baseline_seeds):
        res = X.baseline(obj, X.first_half(clip), args.seconds, seed=seed,
                         max_iter=args.baseline_max_iter, time_budget=args.baseline_time_budget)
        save_wav(out / f"baseline_seed{seed}.wav", res.wave, obj.frontend.sample_rate, overwrite=True)
        r = res.result
        records.append({"seed": seed, "style_loss": r.style_loss, "losses": r.losses, "times": r.times,
                        "optimise_s": r.wall_time, "inversion_s": res.inversion_time, "evaluations": len(r.losses),
                        "stop_reason": r.stop_reason})
        torch.save(r.spec, out / f"baseline_seed{seed}_spec.pt")
    (out / "baseline.json").write_text(json.dumps(records))


# --------------------------------------------------------------------------------------------------
# Evaluation (main process, after the jobs)
# --------------------------------------------------------------------------------------------------


def scores(clip, waves, texture: str, other_stats: dict) -> tuple[dict, dict]:
    """One method's outputs judged by :func:`texnet.evaluation.evaluate` (the first; diversity between the
    first two) and against every bundled texture's unseen half; returns the method's record and the
    reference levels (the source half's own distances)."""
    from texnet import metrics as M
    from texnet.evaluation import evaluate

    sr = X.SAMPLE_RATE
    report = evaluate(clip, waves[:2], sr)
    c = report["candidates"][0]
    tr, hs = c["texture_ratio"], c["heldout_style_ratio"]
    cs = X.copy_to_first_half(clip, waves[0])
    stats = M.texture_statistics(waves[0], sr)
    dists = {other: M.texture_distance(stats, st)["score"] for other, st in other_stats.items()}
    others = {k: v for k, v in dists.items() if k != texture}
    nearest_other = min(others, key=others.get)
    record = {
        "texture_distance": tr["distance"], "texture_ratio": tr["ratio"],
        "group_ratios": {k[len("ratio_"):]: v for k, v in tr.items() if k.startswith("ratio_")},
        "heldout_style": hs["distance"], "heldout_style_ratio": hs["ratio"],
        "copy_score": cs["mean"], "copy_score_max": cs["max"], "diversity": report["diversity"],
        "distances_to_textures": dists, "nearest_other": nearest_other,
        "closer_to_source_than_any_other": dists[texture] < others[nearest_other],
        "source_margin": others[nearest_other] / max(dists[texture], 1e-12),
    }
    return record, {"texture_distance": tr["baseline"], "heldout_style": hs["baseline"]}


def evaluate_clip(texture: str, args, other_stats: dict) -> dict:
    """Generator and baseline outputs of one clip, scored against its unseen second half."""
    import torch

    from texnet.audio import load_audio, save_wav
    from texnet.inference import load_generator

    torch.set_num_threads(args.threads)
    run = Path(args.out) / texture
    obj, clip = objective_for(texture)
    sr = obj.frontend.sample_rate
    cut = X.split(clip)

    gen = load_generator(run / "train" / "last.ckpt")
    g_waves, g_rec = [], []
    for seed in range(2):
        t0 = time.perf_counter()
        s = gen.generate_spec(args.seconds, seed=seed)
        t_fwd = time.perf_counter() - t0
        w = gen.invert(s, seed=seed)
        t_all = time.perf_counter() - t0
        g_rec.append({"style_loss": obj.spec_style(s), "forward_s": t_fwd, "make_s": t_all,
                      "audio_style_loss": obj.audio_style(w)})
        g_waves.append(w)
        save_wav(run / f"generator_seed{seed}.wav", w, sr, overwrite=True)
    base_recs = json.loads((run / "baseline.json").read_text())
    b_waves = [load_audio(run / f"baseline_seed{r['seed']}.wav", sr, normalize=False) for r in base_recs]

    out = {"texture": texture, "seconds_train_half": cut / sr, "seconds_heldout_half": (clip.shape[0] - cut) / sr}
    out["generator"], real = scores(clip, g_waves, texture, other_stats)
    out["baseline"], _ = scores(clip, b_waves, texture, other_stats)
    out["real"] = {**real, "copy_score": X.independent_copy(clip, args.seconds, sr)}
    out["generator"].update({"style_loss": g_rec[0]["style_loss"], "audio_style_loss": g_rec[0]["audio_style_loss"],
                             "make_s": g_rec[0]["make_s"], "forward_s": g_rec[0]["forward_s"]})
    r0 = base_recs[0]
    out["baseline"].update({"style_loss": r0["style_loss"], "audio_style_loss": obj.audio_style(b_waves[0]),
                            "make_s": r0["optimise_s"] + r0["inversion_s"], "optimise_s": r0["optimise_s"],
                            "evaluations": r0["evaluations"], "stop_reason": r0["stop_reason"],
                            "losses": r0["losses"], "times": r0["times"]})
    ratio = out["generator"]["texture_distance"] / max(out["baseline"]["texture_distance"], 1e-12)
    out["bar"] = {"generator_over_baseline": ratio, "within_1_5x": ratio <= 1.5,
                  "both_closest_to_source": out["generator"]["closer_to_source_than_any_other"]
                  and out["baseline"]["closer_to_source_than_any_other"]}
    out["bar"]["pass"] = out["bar"]["within_1_5x"] and out["bar"]["both_closest_to_source"]
    clock = run / "train" / "step_clock.csv"
    if clock.exists():
        rows = [line.split(",") for line in clock.read_text().splitlines()[1:]]
        out["generator"]["train_curve"] = {"step": [int(r[0]) for r in rows], "seconds": [float(r[1]) for r in rows],
                                           "loss": [float(r[2]) for r in rows],
                                           "val": [(float(r[1]), float(r[3])) for r in rows if r[3]]}
        out["generator"]["train_s"] = float(rows[-1][1]) if rows else None
        out["generator"]["steps"] = int(rows[-1][0]) if rows else None
    return out


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------


def plot(results: list[dict], out_dir: Path, seconds: float) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    import numpy as np

    names = []
    n = len(results)
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 4.2), squeeze=False)
    for ax, r in zip(axes[0], results):
        g, b = r["generator"], r["baseline"]
        if "train_curve" in g:
            c = g["train_curve"]
            loss = np.asarray(c["loss"])
            k = 10
            smooth = np.convolve(loss, np.ones(k) / k, mode="valid") if loss.size > k else loss
            ax.plot(np.asarray(c["seconds"])[len(c["seconds"]) - smooth.size:], smooth, color="tab:blue",
                    label="generator training (batch loss, 10-step mean)")
            if c["val"]:
                vt, vv = zip(*c["val"])
                ax.plot(vt, vv, "o", color="tab:blue", ms=4, label="generator validation")
        ax.plot(b["times"], np.minimum.accumulate(b["losses"]), color="tab:red", label="baseline L-BFGS (best so far)")
        ax.axhline(g["style_loss"], color="tab:blue", ls="--", lw=1, label=f"trained generator, {seconds:g} s output")
        ax.axhline(b["style_loss"], color="tab:red", ls="--", lw=1, label="baseline final (margins cropped)")
        ax.axhline(g["audio_style_loss"], color="tab:blue", ls=":", lw=1.5, label="generator after Griffin-Lim")
        ax.axhline(b["audio_style_loss"], color="tab:red", ls=":", lw=1.5, label="baseline after Griffin-Lim")
        ax.set_yscale("log")
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("wall time (s)")
        ax.set_title(r["texture"])
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("style loss (training objective)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2 if n < 3 else 3, fontsize=8, frameon=False)
    fig.suptitle("style loss vs wall time, same objective: generator training (loss on 1.5 s training crops,\n"
                 f"whose statistics are noisier than a {seconds:g} s output's) vs the per-example baseline",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0.17 if n < 3 else 0.12, 1, 1))
    p = out_dir / "loss_vs_time.png"
    fig.savefig(p, dpi=100)
    plt.close(fig)
    names.append(p.name)

    clips = [r["texture"] for r in results]
    x = np.arange(len(clips))
    panels = [("texture_ratio", "texture ratio vs unseen half\n(1 = as close as the source)", 1.0),
              ("heldout_style_ratio", "held-out style ratio\n(1 = as close as the source)", 1.0),
              ("copy_score", "copy score vs training half\n(dots: independent excerpt)", None),
              ("source_margin", "nearest other texture / own source\n(> 1: closest to its source)", 1.0)]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6))
    for ax, (key, title, ref) in zip(axes, panels):
        for i, (method, color) in enumerate((("generator", "tab:blue"), ("baseline", "tab:red"))):
            ax.bar(x + (i - 0.5) * 0.38, [r[method][key] for r in results], 0.38, color=color, label=method)
        if key == "copy_score":
            ax.plot(x, [r["real"]["copy_score"] for r in results], "k.", ms=10, label="independent excerpt")
        if ref is not None:
            ax.axhline(ref, color="k", lw=0.8, ls="--")
        ax.set_xticks(x, clips)
        ax.set_title(title, fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    p = out_dir / "metrics_per_clip.png"
    fig.savefig(p, dpi=100)
    plt.close(fig)
    names.append(p.name)
    return names


def report(results: list[dict], info: dict, args, extras: dict, plots: list[str], wall: float,
           failures: list[str]) -> str:
    from texnet.metrics import STAT_GROUPS

    cpu = info["cpu"]
    lines = [""]
    lines += [
        f"Measured {extras['date']} with `python bench/run_all.py"
        f"{' --full' if args.full else ''}` (wall time {wall / 60:.1f} min) on: **{cpu}, {info['cores']} cores**, "
        f"torch {info['torch']}, Python {info['python']}; {args.jobs} jobs at a time with {args.threads} torch "
        f"thread(s) each. The machine was **shared with other users' jobs** (load average "
        f"{extras['load_start'][0]:.1f} at the start, {info['load'][0]:.1f} at the end, on {info['cores']} cores), "
        "so absolute times are inflated and noisy; ratios measured side by side are the more reliable part. "
        f"CPU time used by the run (all its processes, user + system): {extras['cpu_s'] / 60:.1f} min, i.e. "
        f"about {extras['cpu_s'] / 60 / max(args.jobs, 1):.1f} min of wall time with {args.jobs} free cores.",
        "",
        f"Per clip: the first half is the target (`holdout 0.5`), the second half is never seen and is "
        f"the reference. Generator: `{RECIPE}` on the clip, {args.steps} steps (batch 4 of 1.5 s crops). "
        f"Baseline: L-BFGS on a spectrogram, same front end, descriptor (512 x 11, seed 0) and mean/covariance "
        f"objective, at most {args.baseline_max_iter or 150} evaluations / {args.baseline_time_budget:g} s. Both make "
        f"{args.seconds:g} s, inverted with fast Griffin-Lim (32 iterations); every metric is on that audio "
        "(texnet.metrics; its calibration: 'Calibration of the judge' in bench/RESULTS.md).",
        "",
    ]
    if failures:
        lines += ["**Failed or skipped:** " + ", ".join(failures), ""]
    if results:
        lines += ["### The issue's bar", "",
                  "Texture statistics distance (McDermott-Simoncelli score) to the unseen second half; lower is "
                  "better. Bar: generator <= 1.5x the baseline, and each output closer to its own source than to "
                  "any other bundled texture (distances to all seven textures' second halves).", "",
                  "| clip | source 1st half | generator | baseline | generator / baseline | nearest other texture: "
                  "generator / baseline | closest to own source: gen / base | bar |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for r in results:
            g, b, bar = r["generator"], r["baseline"], r["bar"]
            lines.append(
                f"| {r['texture']} | {r['real']['texture_distance']:.3f} | {g['texture_distance']:.3f} "
                f"| {b['texture_distance']:.3f} | {bar['generator_over_baseline']:.2f} "
                f"| {g['nearest_other']} {g['distances_to_textures'][g['nearest_other']]:.3f} / "
                f"{b['nearest_other']} {b['distances_to_textures'][b['nearest_other']]:.3f} "
                f"| {'yes' if g['closer_to_source_than_any_other'] else 'NO'} (x{g['source_margin']:.2f}) / "
                f"{'yes' if b['closer_to_source_than_any_other'] else 'NO'} (x{b['source_margin']:.2f}) "
                f"| {'pass' if bar['pass'] else 'FAIL'} |")
        n_pass = sum(r["bar"]["pass"] for r in results)
        spec_ratio = [r["generator"]["style_loss"] / max(r["baseline"]["style_loss"], 1e-12) for r in results]
        audio_ratio = [r["generator"]["audio_style_loss"] / max(r["baseline"]["audio_style_loss"], 1e-12)
                       for r in results]
        stops = sorted({r["baseline"]["stop_reason"] for r in results})
        lines += ["", f"{n_pass} of {len(results)} clips meet the bar. (x margin = distance to the nearest other "
                  "texture / distance to the own source.)", "",
                  f"On the training objective the baseline's optimised spectrogram is {min(spec_ratio):.0f}-"
                  f"{max(spec_ratio):.0f}x closer to the target than the generator's; on the spectrogram of the final "
                  f"audio (after Griffin-Lim) generator / baseline is {min(audio_ratio):.2f}-{max(audio_ratio):.2f}"
                  + (": phase retrieval undoes most of the baseline's advantage"
                     if max(audio_ratio) < 0.5 * min(spec_ratio) else "")
                  + f". Baseline runs stopped by: {', '.join(stops)}.", ""]

        lines += ["### Every metric", "",
                  "Texture ratio and held-out style ratio: distance to the unseen half over the source half's own "
                  "(1 = as close as the source). Copy score against the training half (the real row: an "
                  "independent excerpt of the unseen half, i.e. no copying). Diversity: two seeds of one method. "
                  "Style loss: the training objective on the made spectrogram / on the spectrogram of the final "
                  "audio.", "",
                  "| clip | method | style loss (spec / audio) | texture ratio | held-out style ratio | copy score "
                  f"mean (max) | diversity | time to make {args.seconds:g} s (s) |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for r in results:
            for m in ("generator", "baseline"):
                x = r[m]
                make = (f"{x['make_s']:.2f} (forward {x['forward_s']:.3f})" if m == "generator"
                        else f"{x['make_s']:.1f} ({x['evaluations']} evals, {x['stop_reason']})")
                lines.append(f"| {r['texture']} | {m} | {x['style_loss']:.4f} / {x['audio_style_loss']:.4f} "
                             f"| {x['texture_ratio']:.2f} | {x['heldout_style_ratio']:.2f} "
                             f"| {x['copy_score']:.3f} ({x['copy_score_max']:.3f}) | {X.fmt(x['diversity'], '{:.3f}')} "
                             f"| {make} |")
            lines.append(f"| {r['texture']} | real (2nd half) | - | 1 | 1 | {r['real']['copy_score']:.3f} | - | - |")
        lines += ["", "Texture ratio per statistic group (each group's distance to the unseen half over the "
                  "source half's):", "",
                  "| clip | method | " + " | ".join(STAT_GROUPS) + " |", "|" + " --- |" * (2 + len(STAT_GROUPS))]
        for r in results:
            for m in ("generator", "baseline"):
                groups = " | ".join(f"{r[m]['group_ratios'][k]:.2f}" for k in STAT_GROUPS)
                lines.append(f"| {r['texture']} | {m} | {groups} |")
        lines += ["", "Training time of each generator: " + ", ".join(
            f"{r['texture']} {X.fmt(r['generator'].get('train_s'), '{:.0f}')} s for {r['generator'].get('steps')} steps"
            for r in results) + " (including validation every 100 steps; two jobs shared the cores).", ""]
    for title, key in (("Generation speed (`bench/bench_generation.py`)", "generation"),
                       ("Training throughput (`bench/bench_training.py`)", "training")):
        lines += [f"### {title}", ""]
        text = extras.get(key)
        lines += [text.strip() if text else "not run (failed or skipped; see the run's logs)", ""]
    if plots:
        lines += ["### Plots", ""] + [f"![{p}]({p})" for p in plots] + [""]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--textures", nargs="+", choices=X.TEXTURES, default=list(DEFAULT_TEXTURES))
    p.add_argument("--full", action="store_true", help="all seven bundled textures")
    p.add_argument("--steps", type=int, default=300, help="generator training steps per clip")
    p.add_argument("--seconds", type=float, default=10.0, help="length each method makes for the metrics")
    p.add_argument("--baseline-max-iter", type=int, default=None,
                   help="baseline evaluations (default: the baseline's default budget, 150 in whole L-BFGS steps)")
    p.add_argument("--baseline-time-budget", type=float, default=60.0)
    p.add_argument("--baseline-seeds", type=int, default=2, help="baseline runs per clip (2: its diversity too)")
    p.add_argument("--generation-lengths", type=float, nargs="+", default=[5.0, 60.0])
    p.add_argument("--rtf-lengths", type=float, nargs="+", default=[60.0, 600.0])
    p.add_argument("--generation-baseline-budget", type=float, default=120.0,
                   help="cap (s) on each baseline run of bench_generation")
    p.add_argument("--training-steps", type=int, default=60, help="bench_training steps")
    p.add_argument("--jobs", type=int, default=2, help="jobs at a time (default 2)")
    p.add_argument("--threads", type=int, default=1, help="torch threads per job (default 1)")
    p.add_argument("--out", default="runs/bench_all", help="run directory for checkpoints, audio and records")
    p.add_argument("--results", default=str(BENCH / "RESULTS.md"))
    p.add_argument("--reuse", action="store_true", help="keep finished trainings/baselines found in --out")
    p.add_argument("--report-only", action="store_true",
                   help="only rewrite RESULTS.md and the plots from the records of an earlier run in --out")
    p.add_argument("--job", choices=["baseline"], help=argparse.SUPPRESS)
    p.add_argument("--texture", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.full:
        args.textures = list(X.TEXTURES)
    out = Path(args.out)
    if not out.is_absolute():
        out = ROOT / out
    args.out = str(out)
    if args.job == "baseline":
        job_baseline(args)
        return 0
    if args.report_only:
        if not (out / "run.json").exists():
            raise SystemExit(f"run_all: {out / 'run.json'} not found: run the benchmarks first")
        return finish(Path(args.results), out, json.loads((out / "results.json").read_text()),
                      json.loads((out / "run.json").read_text()))

    t_start = time.perf_counter()
    load_start = os.getloadavg()
    py = sys.executable
    jobs: list[X.Job] = []
    for tex in args.textures:
        jobs.append(X.Job(f"train {tex}", X.train_command(RECIPE, out / tex / "train", args.steps, tex, args.threads,
                                                          script=BENCH / "step_clock.py", samples=True),
                          out / "logs" / f"train_{tex}.log",
                          done_file=(out / tex / "train" / "step_clock.csv") if args.reuse else None))
    first = args.textures[0]
    jobs.insert(1, X.Job("bench_generation", [py, str(BENCH / "bench_generation.py"), "--ckpt",
                                         str(out / first / "train" / "last.ckpt"), "--audio", str(X.clip_path(first)),
                                         "--holdout", str(X.HOLDOUT), "--lengths",
                                         *map(str, args.generation_lengths),
                                         "--rtf-lengths", *map(str, args.rtf_lengths),
                                         "--baseline-time-budget", str(args.generation_baseline_budget),
                                         "--threads", str(args.threads), "--json", str(out / "bench_generation.json")],
                    out / "logs" / "bench_generation.log", deps=(f"train {first}",)))
    for tex in args.textures:
        jobs.append(X.Job(f"baseline {tex}", [py, str(BENCH / "run_all.py"), "--job", "baseline", "--texture", tex,
                                             "--out", str(out), "--seconds", str(args.seconds),
                                             *(["--baseline-max-iter", str(args.baseline_max_iter)]
                                               if args.baseline_max_iter else []), "--baseline-time-budget",
                                             str(args.baseline_time_budget), "--baseline-seeds",
                                             str(args.baseline_seeds), "--threads", str(args.threads)],
                        out / "logs" / f"baseline_{tex}.log",
                        done_file=(out / tex / "baseline.json") if args.reuse else None))
    jobs.append(X.Job("bench_training", [py, str(BENCH / "bench_training.py"), "--config", "configs/quickstart.yaml",
                                       "--steps", str(args.training_steps)], out / "logs" / "bench_training.log"))
    print(f"run_all: {len(jobs)} jobs, {args.jobs} at a time, logs in {out / 'logs'}", flush=True)
    X.run_jobs(jobs, args.jobs, args.threads)
    by_name = {j.name: j for j in jobs}
    failures = [j.name for j in jobs if j.rc != 0]

    import torch

    torch.set_num_threads(args.threads)
    from texnet import metrics as M

    print("evaluating ...", flush=True)
    other_stats = {}
    for tex in X.TEXTURES:  # every bundled texture's unseen half: "closer to its source than to any other?"
        w = X.load_clip(tex)
        other_stats[tex] = M.texture_statistics(w[X.split(w):], X.SAMPLE_RATE)
    results = []
    for tex in args.textures:
        if by_name[f"train {tex}"].rc != 0 or by_name[f"baseline {tex}"].rc != 0:
            continue
        try:
            results.append(evaluate_clip(tex, args, other_stats))
        except Exception as e:  # noqa: BLE001 - report the others
            failures.append(f"evaluate {tex} ({e})")
    (out / "results.json").write_text(json.dumps(results, indent=1))
    import resource

    meta = {"args": {k: v for k, v in vars(args).items() if k not in ("results", "report_only", "job", "texture")},
            "date": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
            "load_start": load_start, "load_end": os.getloadavg(), "wall_s": time.perf_counter() - t_start,
            "cpu_s": sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
                         for f in ("ru_utime", "ru_stime")),
            "failures": failures, "generation_ok": by_name["bench_generation"].rc == 0,
            "training_ok": by_name["bench_training"].rc == 0, "machine": X.machine_info()}
    (out / "run.json").write_text(json.dumps(meta, indent=1))
    return finish(Path(args.results), out, results, meta)


def finish(results_path: Path, out: Path, results: list[dict], meta: dict) -> int:
    """Plots and the RESULTS.md block from a run's records (``results.json``, ``run.json``, job logs)."""
    args = argparse.Namespace(**meta["args"])
    extras = {"load_start": meta["load_start"], "cpu_s": meta["cpu_s"], "date": meta.get("date", "(date not recorded)")}
    first = args.textures[0]
    gen_log = out / "logs" / "bench_generation.log"
    if meta["generation_ok"] and gen_log.exists():
        text = gen_log.read_text()
        text = text[text.index("# generation"):] if "# generation" in text else text
        extras["generation"] = (f"The generator trained above on {first} ({args.steps} steps) against the baseline on "
                                f"the same target (first half of {first}), same objective. Each case in a fresh "
                                "process; peak RSS (`resource.getrusage`) is the whole process's, imports included; "
                                "\"extra\" is above its size after imports, loading and set-up. One torch thread, "
                                "while the other job slot was busy. \"To final loss\" is the time of the best "
                                "evaluation; a run stopped by its time budget had not converged.\n\n"
                                + text.replace("# generation", "Run: generation", 1))
    train_log = out / "logs" / "bench_training.log"
    if meta["training_ok"] and train_log.exists():
        lines = [ln for ln in train_log.read_text().splitlines()
                 if ln.startswith("precision") or ln.startswith("# training")]
        extras["training"] = "```\n" + "\n".join(lines) + "\n```"
    plots = plot(results, results_path.parent, args.seconds) if results else []
    info = dict(meta["machine"], load=meta["load_end"])
    X.write_section(results_path, report(results, info, args, extras, plots, meta["wall_s"], meta["failures"]),
                    HEADING, START, END)
    print(f"run_all: wrote {results_path} and {', '.join(plots)}; the run took {meta['wall_s'] / 60:.1f} min"
          + (f"; FAILED: {', '.join(meta['failures'])}" if meta["failures"] else ""))
    for r in results:
        print(f"  {r['texture']:8s} texture distance generator {r['generator']['texture_distance']:.3f} "
              f"baseline {r['baseline']['texture_distance']:.3f} -> {'pass' if r['bar']['pass'] else 'FAIL'}")
    return 1 if meta["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
