#!/usr/bin/env python
"""Generator recipes side by side: the same base config with different ``train.py`` overrides, per texture.

    python bench/bench_recipes.py --textures rain wind --recipe "default=" \\
        --recipe "ch160=--model.generator.channels 160" --steps 300 --jobs 2 --out /tmp/recipes
    python bench/bench_recipes.py ... --reuse --results bench/RESULTS.md   # evaluate finished runs, write table

Each recipe is ``name=<train.py arguments>`` (shell-quoted, added after ``--config --base``). Every
(texture, recipe) is trained on the FIRST half of ``data/<texture>.ogg`` for ``--steps`` steps, makes
``--seconds`` of texture from seeds 0 and 1, and is judged by :func:`texnet.evaluation.evaluate` against
the clip (texture-statistics ratio to the unseen second half, 1.0 = as close as the recording is to itself;
held-out descriptor ratio; copy score against the whole clip and against the half trained on, beside an
independent excerpt's (the unseen half against the first); diversity of the two
seeds; ``--seeds N`` adds the texture ratio of seeds 2 .. N-1 to the mean and reports the highest; spectral
lines of the 10 s outputs and of ``--lines-seconds`` (60) s ones, beside the unseen half's, and the whole clip's and the
half trained on's). Also
printed: the training objective itself (pooled style of 16 crops of 1.5 s) on the generator's audio and
on the unseen half, which tells a recipe that cannot fit its objective (generator >> real)
from one whose objective misses what the statistics see (generator <= real, ratio still high).
Trainings run ``--jobs`` at a time with ``--threads`` torch threads each. ``--trainings N`` trains each
recipe N times, the k-th with ``--model.generator.seed k`` appended (runs ``<recipe>``, ``<recipe>_g1``, ...): two
trainings of one recipe differ by about 0.1, so recipes closer than that need several; the summary then gives
each recipe's mean over its trainings with their range.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import torch

from texnet import experiments as X
from texnet.inference import load_generator
from texnet.metrics import spectral_lines

MARK_START, MARK_END = "<!-- recipes:start -->", "<!-- recipes:end -->"
HEADING = "## Generator recipes side by side (`bench/bench_recipes.py`)"
CROPS, CROP_SECONDS = 16, 1.5


def parse_recipes(items: list[str]) -> dict[str, list[str]]:
    out = {}
    for item in items:
        name, sep, extra = item.partition("=")
        if not sep or not name:
            raise SystemExit(f"--recipe needs 'name=<train.py arguments>', got {item!r}")
        out[name] = shlex.split(extra)
    return out


def with_trainings(recipes: dict[str, list[str]], trainings: int) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Every recipe ``trainings`` times, the k-th (k >= 1) with generator seed k: the runs' arguments by run
    name, and each run's recipe."""
    if trainings < 1:
        raise SystemExit(f"--trainings needs at least 1, got {trainings}")
    runs, recipe_of = {}, {}
    for name, extra in recipes.items():
        for k in range(trainings):
            run = name if k == 0 else f"{name}_g{k}"
            runs[run] = extra if k == 0 else [*extra, "--model.generator.seed", str(k)]
            recipe_of[run] = name
    return runs, recipe_of


def run_dir(args, texture: str, recipe: str) -> Path:
    return Path(args.out) / f"{texture}_{recipe}"


def train_all(args, recipes: dict[str, list[str]]) -> dict[str, float]:
    jobs = []
    for t in args.textures:
        for r, extra in recipes.items():
            d = run_dir(args, t, r)
            print(f"{t} {r}: {' '.join(extra) or '(base config)'}", flush=True)
            jobs.append(X.Job(f"{t}_{r}", X.train_command(args.base, d, args.steps, t, args.threads, extra),
                              d / "train.log", done_file=(d / "last.ckpt") if args.reuse else None))
    return X.run_jobs(jobs, args.jobs, args.threads, check=True)


def crops(wave: torch.Tensor, n: int) -> torch.Tensor:
    """``CROPS`` evenly spaced crops ``(CROPS, n)`` of ``wave``."""
    return torch.stack([wave[s:s + n] for s in torch.linspace(0, wave.shape[-1] - n - 1, CROPS).long().tolist()])


def pooled_objective(gen, clip: torch.Tensor, wave: torch.Tensor) -> tuple[float, float]:
    """The training objective (pooled style of evenly spaced crops of 1.5 s, or of the shortest the objective
    judges if longer) on the unseen half and on ``wave``."""
    obj = X.objective_for_generator(gen)
    obj.set_targets([X.first_half(clip)])
    n = max(int(CROP_SECONDS * gen.sample_rate), obj.min_samples())
    unseen = clip[X.split(clip):]
    return obj.audio_style(crops(unseen, n), pooled=True), obj.audio_style(crops(wave, n), pooled=True)


def evaluate_run(args, texture: str, recipe: str) -> dict:
    torch.set_num_threads(args.threads)
    gen = load_generator(run_dir(args, texture, recipe) / "last.ckpt")
    clip = X.load_clip(texture, gen.sample_rate)
    waves = X.generate(gen, args.seconds, range(args.seeds))
    real_obj, gen_obj = pooled_objective(gen, clip, waves[0])
    long = X.generate(gen, args.lines_seconds, range(2)) if args.lines_seconds else []
    return {"texture": texture, "recipe": recipe, **X.judge(clip, waves, gen.sample_rate),
            "objective_real": real_obj, "objective_generator": gen_obj,
            "spectral_lines_long": X.mean(spectral_lines(w, gen.sample_rate)["count"] for w in long),
            "spectral_lines_clip": spectral_lines(clip, gen.sample_rate)["count"],
            "spectral_lines_half": spectral_lines(X.first_half(clip), gen.sample_rate)["count"]}


def table(rows: list[dict], recipes: dict[str, list[str]], recipe_of: dict[str, str], args, walls: dict) -> str:
    f = X.fmt
    seeds = "seeds 0 and 1 (ratios: mean of the two)" if args.seeds == 2 else \
        f"seeds 0 to {args.seeds - 1} (texture ratio: mean and highest of the {args.seeds}, and the clip's floor, what " \
        f"outputs that varied as the recording does would score; other columns: seeds 0 and 1)"
    lines = [f"Base `{args.base}`, {args.steps} steps, {args.seconds:g} s from {seeds}; "
             f"CPU, {args.jobs} training(s) at a time, {args.threads} torch thread(s) each. Recipes:", ""]
    lines += [f"- **{name}**: `{' '.join(extra) or '(base config)'}`" for name, extra in recipes.items()]
    body = []
    for r in rows:
        top = f" (max {max(r['texture_ratio_seeds']):.2f})" if len(r["texture_ratio_seeds"]) > 2 else ""
        if r.get("ratio_floor") is not None:
            top += f" [floor {r['ratio_floor']:.2f}]"
        body.append([r["texture"], r["recipe"], f(r["texture_ratio"]) + top,
                     " / ".join(f(r["groups"][g], "{:.1f}") for g in X.STAT_GROUPS), f(r["heldout_style_ratio"]),
                     f"{f(r['copy_score'])} / {f(r.get('copy_score_train_half'))} ({f(r['independent_copy'])})",
                     f(r["diversity"]), f"{f(r.get('spectral_lines'), '{:.0f}')} "
                     f"({f(r.get('spectral_lines_reference'), '{:.0f}')})",
                     f"{f(r.get('spectral_lines_long'), '{:.1f}')} ({f(r.get('spectral_lines_clip'), '{:.0f}')} / "
                     f"{f(r.get('spectral_lines_half'), '{:.0f}')})",
                     f"{f(r['objective_generator'], '{:.3f}')} ({f(r['objective_real'], '{:.3f}')})",
                     f(walls.get(r["texture"] + "_" + r["recipe"]), "{:.0f}")])
    lines += ["", X.markdown_table(
        ["texture", "recipe", "texture ratio", "mean / cv / skew / kurt / corr / mod", "held-out style ratio",
         "copy: whole clip / half trained on (independent)", "diversity", "spectral lines (source)",
         f"spectral lines at {args.lines_seconds:g} s (whole clip / half trained on)",
         "objective: generator (real)", "train s"], body)]
    summary = []
    for name in dict.fromkeys(recipe_of.values()):
        runs = [run for run, of in recipe_of.items() if of == name]
        cells, means = [], []
        for t in args.textures:
            vals = [next(r["texture_ratio"] for r in rows if r["texture"] == t and r["recipe"] == run) for run in runs]
            means.append(X.mean(vals))
            cells.append(f(means[-1]) + (f" ({min(vals):.2f}-{max(vals):.2f})" if len(vals) > 1 else ""))
        summary.append([name, *cells, f(X.mean(means)), f"{sum(v <= 1.5 for v in means)} of {len(means)}"])
    trainings = f", mean (range) of {len(runs)} trainings" if len(runs) > 1 else ""
    lines += ["", f"Texture ratio per recipe{trainings}:", "",
              X.markdown_table(["recipe", *args.textures, "mean", "within 1.5"], summary)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--textures", nargs="+", default=list(X.TEXTURES))
    p.add_argument("--recipe", action="append", default=[], help="name=<train.py arguments>; repeat")
    p.add_argument("--base", default="configs/quickstart_waveform.yaml")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--lines-seconds", type=float, default=60.0,
                   help="spectral lines of this long an output (seeds 0 and 1) against the whole clip's; 0: skip")
    p.add_argument("--seeds", type=int, default=2, help="outputs judged per run (texture ratio); at least 2")
    p.add_argument("--trainings", type=int, default=1, help="trainings per recipe (generator seeds 0 .. N-1)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--out", default="runs/recipes")
    p.add_argument("--reuse", action="store_true", help="keep finished trainings found in --out")
    p.add_argument("--results", help="write the table into this markdown file (between markers)")
    args = p.parse_args(argv)
    if args.seeds < 2:
        p.error("--seeds needs at least 2 (the first two also give diversity)")
    recipes, recipe_of = with_trainings(parse_recipes(args.recipe or ["default="]), args.trainings)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    walls = train_all(args, recipes)
    prev = out / "recipes.json"
    if prev.is_file():  # keep the training times of reused runs
        walls = {**json.loads(prev.read_text()).get("train_s", {}), **walls}
    rows = []
    for t in args.textures:
        ind = X.independent_copy(X.load_clip(t), args.seconds)
        for name in recipes:
            r = evaluate_run(args, t, name)
            r["independent_copy"] = ind
            rows.append(r)
            print(f"{t:8s} {name:12s} ratio {r['texture_ratio']:.2f}  objective {r['objective_generator']:.3f} "
                  f"(real {r['objective_real']:.3f})", flush=True)
    block = table(rows, recipes, recipe_of, args, walls)
    print("\n" + block)
    prev.write_text(json.dumps({"rows": rows, "train_s": walls, "args": vars(args)}, indent=1))
    if args.results:
        X.write_section(args.results, block, HEADING, MARK_START, MARK_END)
    return 0


if __name__ == "__main__":
    sys.exit(main())
