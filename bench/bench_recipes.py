#!/usr/bin/env python
"""Generator recipes side by side: the same base config with different ``train.py`` overrides, per texture.

    python bench/bench_recipes.py --textures rain wind --recipe "default=" \\
        --recipe "advance=--model.generator.phase advance" --steps 300 --jobs 2 --out /tmp/recipes
    python bench/bench_recipes.py ... --reuse --results bench/RESULTS.md   # evaluate finished runs, write table

Each recipe is ``name=<train.py arguments>`` (shell-quoted, added after ``--config --base``). Every
(texture, recipe) is trained on the FIRST half of ``data/<texture>.ogg`` for ``--steps`` steps, makes
``--seconds`` of texture from seeds 0 and 1, and is judged by :func:`texnet.evaluation.evaluate` against
the clip (texture-statistics ratio to the unseen second half, 1.0 = as close as the recording is to itself;
held-out descriptor ratio; copy score against the whole clip and against the half trained on, beside an
independent excerpt's (the unseen half against the first); diversity of the two
seeds; ``--seeds N`` adds the texture ratio of seeds 2 .. N-1 to the mean and reports the highest). Also
printed: the training objective itself (pooled style of 16 crops of 1.5 s) on the generator's audio and
on the unseen half, which tells a recipe that cannot fit its objective (generator >> real)
from one whose objective misses what the statistics see (generator <= real, ratio still high).
Trainings run ``--jobs`` at a time with ``--threads`` torch threads each.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_phase_free import independent_copy, run_jobs, write_results  # noqa: E402  (sibling bench script)

MARK_START, MARK_END = "<!-- recipes:start -->", "<!-- recipes:end -->"
GROUPS = ("mean", "cv", "skew", "kurtosis", "corr", "mod")


def parse_recipes(items: list[str]) -> dict[str, list[str]]:
    out = {}
    for item in items:
        name, sep, extra = item.partition("=")
        if not sep or not name:
            raise SystemExit(f"--recipe needs 'name=<train.py arguments>', got {item!r}")
        out[name] = shlex.split(extra)
    return out


def run_dir(args, texture: str, recipe: str) -> Path:
    return Path(args.out) / f"{texture}_{recipe}"


def train_all(args, recipes: dict[str, list[str]]) -> dict[str, float]:
    jobs = []
    for t in args.textures:
        for r, extra in recipes.items():
            d = run_dir(args, t, r)
            if args.reuse and (d / "last.ckpt").is_file():
                continue
            print(f"training {t} {r}: {' '.join(extra) or '(base config)'}", flush=True)
            jobs.append((f"{t}_{r}", [sys.executable, str(ROOT / "train.py"), "--config", args.base, "--out", str(d),
                                      "--data.audio", f"[{ROOT / 'data' / f'{t}.ogg'}]", "--trainer.max_steps",
                                      str(args.steps), "--trainer.enable_progress_bar", "false", "--compare.enabled",
                                      "false", "--samples.every_n_steps", "0", "--wandb", "off", "--threads",
                                      str(args.threads), *extra], d / "train.log"))
    return run_jobs(jobs, args.jobs, {**os.environ, "OMP_NUM_THREADS": str(args.threads)})


def pooled_objective(ckpt: Path, clip, wave) -> tuple[float, float]:
    """The training objective (pooled style of 16 evenly spaced 1.5 s crops, or the shortest the objective
    judges if longer) on the unseen half and on ``wave``."""
    import torch

    from texnet.module import TextureModule

    hp = torch.load(ckpt, map_location="cpu", weights_only=False)["hyper_parameters"]
    m = TextureModule(**{k: hp[k] for k in ("frontend", "descriptor", "objective", "generator")})
    h = clip.shape[-1] // 2
    m.set_targets([clip[:h]])
    # 1.5 s crops, or longer where the objective needs them (a long auditory segment)
    n = max(int(1.5 * m.fe_cfg.sample_rate), m.wave_objective.min_samples() if m.wave_objective is not None else 0)

    def crops(w):
        return torch.stack([w[s:s + n] for s in torch.linspace(0, w.shape[-1] - n - 1, 16).long().tolist()])

    with torch.no_grad():
        return float(m.audio_style(crops(clip[h:]), pooled=True)), float(m.audio_style(crops(wave), pooled=True))


def evaluate_run(args, texture: str, recipe: str) -> dict:
    import torch

    from texnet.audio import load_audio
    from texnet.evaluation import evaluate
    from texnet.frontends import STFTFrontend
    from texnet.inference import load_generator
    from texnet.metrics import copy_score, texture_ratio

    torch.set_num_threads(args.threads)
    ckpt = run_dir(args, texture, recipe) / "last.ckpt"
    gen = load_generator(ckpt)
    clip = load_audio(ROOT / "data" / f"{texture}.ogg", gen.sample_rate)
    with torch.no_grad():
        waves = [gen.generate(args.seconds, seed=s) for s in (0, 1)]
        # seeds past the first two: texture ratio only (one 10 s output says little about a generator whose
        # outputs differ by 0.2 from seed to seed: wind's default, 1.29-1.58 over 8 seeds)
        more = [texture_ratio(clip, gen.generate(args.seconds, seed=s), gen.sample_rate) for s in range(2, args.seeds)]
    c = evaluate(clip, waves, gen.sample_rate)
    # evaluate() matches patches against the whole clip; the independent excerpt (the unseen half) can only be
    # matched against the first half, so the like-for-like copy score is against the half trained on
    fe = STFTFrontend()
    first = fe(clip[: clip.shape[-1] // 2])[0]
    copy_half = statistics.mean(copy_score(first, fe(w)[0])["mean"] for w in waves)
    real_obj, gen_obj = pooled_objective(ckpt, clip, waves[0])
    ratios = [x["texture_ratio"] for x in c["candidates"]] + more
    cand = c["candidates"]
    return {
        "texture": texture, "recipe": recipe,
        "texture_ratio": statistics.mean(r["ratio"] for r in ratios),
        "texture_ratio_seeds": [r["ratio"] for r in ratios],
        "groups": {g: statistics.mean(r[f"ratio_{g}"] for r in ratios) for g in GROUPS},
        "heldout_style_ratio": statistics.mean(x["heldout_style_ratio"]["ratio"] for x in cand),
        "copy_score": statistics.mean(x["copy_score"]["mean"] for x in cand), "copy_score_train_half": copy_half,
        "diversity": c["diversity"], "objective_real": real_obj, "objective_generator": gen_obj,
        "spectral_lines": statistics.mean(x["spectral_lines"]["count"] for x in cand),
        "spectral_lines_reference": c["reference"]["spectral_lines"]["count"],
    }


def table(rows: list[dict], recipes: dict[str, list[str]], args, walls: dict) -> str:
    seeds = "seeds 0 and 1 (ratios: mean of the two)" if args.seeds == 2 else \
        f"seeds 0 to {args.seeds - 1} (texture ratio: mean and highest of the {args.seeds}; other columns: seeds 0 and 1)"
    lines = [f"Base `{args.base}`, {args.steps} steps, {args.seconds:g} s from {seeds}; "
             f"CPU, {args.jobs} training(s) at a time, {args.threads} torch thread(s) each. Recipes:", ""]
    lines += [f"- **{name}**: `{' '.join(extra) or '(base config)'}`" for name, extra in recipes.items()]
    lines += ["", "| texture | recipe | texture ratio | mean / cv / skew / kurt / corr / mod | held-out style ratio | "
              "copy: whole clip / half trained on (independent) | diversity | spectral lines (source) | objective: generator (real) | train s |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        groups = " / ".join(f"{r['groups'][g]:.1f}" for g in GROUPS)
        top = f" (max {max(r['texture_ratio_seeds']):.2f})" if len(r["texture_ratio_seeds"]) > 2 else ""
        lines.append(f"| {r['texture']} | {r['recipe']} | {r['texture_ratio']:.2f}{top} | {groups} | "
                     f"{r['heldout_style_ratio']:.2f} | {r['copy_score']:.2f} / {r.get('copy_score_train_half', float('nan')):.2f} ({r['independent_copy']:.2f}) | "
                     f"{r['diversity']:.2f} | {r.get('spectral_lines', float('nan')):.0f} "
                     f"({r.get('spectral_lines_reference', float('nan')):.0f}) | "
                     f"{r['objective_generator']:.3f} ({r['objective_real']:.3f}) | "
                     f"{walls.get(r['texture'] + '_' + r['recipe'], float('nan')):.0f} |")
    lines += ["", "| recipe | " + " | ".join(args.textures) + " | mean | within 1.5 |",
              "|---|" + "---|" * (len(args.textures) + 2)]
    for name in recipes:
        vals = [next(r["texture_ratio"] for r in rows if r["texture"] == t and r["recipe"] == name) for t in args.textures]
        lines.append(f"| {name} | " + " | ".join(f"{v:.2f}" for v in vals) +
                     f" | {statistics.mean(vals):.2f} | {sum(v <= 1.5 for v in vals)} of {len(vals)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--textures", nargs="+", default=["rain", "fire", "stream", "insects", "crowd", "machine", "wind"])
    p.add_argument("--recipe", action="append", default=[], help="name=<train.py arguments>; repeat")
    p.add_argument("--base", default="configs/quickstart_waveform.yaml")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--seeds", type=int, default=2, help="outputs judged per run (texture ratio); at least 2")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--out", default="runs/recipes")
    p.add_argument("--reuse", action="store_true", help="keep finished trainings found in --out")
    p.add_argument("--results", help="write the table into this markdown file (between markers)")
    args = p.parse_args(argv)
    if args.seeds < 2:
        p.error("--seeds needs at least 2 (the first two also give diversity)")
    recipes = parse_recipes(args.recipe or ["default="])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    walls = train_all(args, recipes)
    prev = out / "recipes.json"
    if prev.is_file():  # keep the training times of reused runs
        walls = {**json.loads(prev.read_text()).get("train_s", {}), **walls}
    rows = []
    for t in args.textures:
        ind = independent_copy(t, args.seconds)
        for name in recipes:
            r = evaluate_run(args, t, name)
            r["independent_copy"] = ind
            rows.append(r)
            print(f"{t:8s} {name:12s} ratio {r['texture_ratio']:.2f}  objective {r['objective_generator']:.3f} "
                  f"(real {r['objective_real']:.3f})", flush=True)
    block = table(rows, recipes, args, walls)
    print("\n" + block)
    prev.write_text(json.dumps({"rows": rows, "train_s": walls, "args": vars(args)}, indent=1))
    if args.results:
        write_results(Path(args.results), block, MARK_START, MARK_END,
                      "## Generator recipes side by side (`bench/bench_recipes.py`)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
